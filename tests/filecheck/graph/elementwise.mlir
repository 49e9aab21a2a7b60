// RUN: lamina-opt %s | filecheck %s
// Result types are optional on input: the row's shape rule infers them, with broadcasting.

// CHECK-LABEL: func.func @unary_and_binary
func.func @unary_and_binary(%a: tensor<n x 4 x f32>, %b: tensor<4xf32>) -> tensor<n x 4 x f32> {
  // CHECK: %s = graph.add %a, %b : tensor<n x 4 x f32>
  %s = graph.add %a, %b
  // CHECK: %e = graph.exp %s : tensor<n x 4 x f32>
  %e = graph.exp %s
  // CHECK: %l = graph.leaky_relu %e {alpha = 0.2} : tensor<n x 4 x f32>
  %l = graph.leaky_relu %e {alpha = 0.2}
  // CHECK: %g = graph.gelu %l : tensor<n x 4 x f32>
  %g = graph.gelu %l
  func.return %g : tensor<n x 4 x f32>
}
