// RUN: lamina-opt %s | filecheck %s

// CHECK-LABEL: func.func @reduce
func.func @reduce(%x: tensor<n x 5 x 6 x f32>) -> (tensor<n x 1 x 6 x f32>, tensor<n x f32>, tensor<n x 6 x i64>) {
  // CHECK: %s = graph.reduce_sum %x {axes = [1]} : tensor<n x 1 x 6 x f32>
  %s = graph.reduce_sum %x {axes = [1]}
  // CHECK: %m = graph.reduce_max %x {axes = [1, 2], keepdims = false} : tensor<n x f32>
  %m = graph.reduce_max %x {axes = [1, 2], keepdims = false}
  // CHECK: %i = graph.argmax %x {axis = 1, keepdims = false} : tensor<n x 6 x i64>
  %i = graph.argmax %x {axis = 1, keepdims = false}
  func.return %s, %m, %i : tensor<n x 1 x 6 x f32>, tensor<n x f32>, tensor<n x 6 x i64>
}
