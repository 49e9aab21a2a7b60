// RUN: lamina-opt %s | filecheck %s

// CHECK-LABEL: func.func @moves
func.func @moves(%x: tensor<n x 4 x 6 x f32>) -> tensor<6 x 4*n x f32> {
  // CHECK: %t = graph.transpose %x {perm = [2, 0, 1]} : tensor<6 x n x 4 x f32>
  %t = graph.transpose %x {perm = [2, 0, 1]}
  // CHECK: %r = graph.reshape %t {shape = [6, -1]} : tensor<6 x 4*n x f32>
  %r = graph.reshape %t {shape = [6, -1]}
  func.return %r : tensor<6 x 4*n x f32>
}

// CHECK-LABEL: func.func @pieces
func.func @pieces(%x: tensor<4x6xf32>, %i: tensor<3xi64>) -> (tensor<4x2xf32>, tensor<3x6xf32>, tensor<6x10xf32>) {
  // CHECK: %a, %b = graph.split %x {axis = 1, sizes = [2, 4]} : tensor<4x2xf32>, tensor<4x4xf32>
  %a, %b = graph.split %x {axis = 1, sizes = [2, 4]}
  // CHECK: %c = graph.concat %b, %a {axis = 1} : tensor<4x6xf32>
  %c = graph.concat %b, %a {axis = 1}
  // CHECK: %g = graph.gather %c, %i : tensor<3x6xf32>
  %g = graph.gather %c, %i
  // CHECK: %p = graph.pad %x {pads = [1, 2, 1, 2]} : tensor<6x10xf32>
  %p = graph.pad %x {pads = [1, 2, 1, 2]}
  func.return %a, %g, %p : tensor<4x2xf32>, tensor<3x6xf32>, tensor<6x10xf32>
}
