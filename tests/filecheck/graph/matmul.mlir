// RUN: lamina-opt %s | filecheck %s
// matmul is batched and broadcasts its batch dims; a symbolic batch flows through.

// CHECK-LABEL: func.func @batched
func.func @batched(%a: tensor<2x1x3x4xf32>, %b: tensor<5x4x6xf32>) -> tensor<2x5x3x6xf32> {
  // CHECK: graph.matmul %a, %b : tensor<2x5x3x6xf32>
  %c = graph.matmul %a, %b
  func.return %c : tensor<2x5x3x6xf32>
}

// CHECK-LABEL: func.func @symbolic
func.func @symbolic(%x: tensor<n x 784 x f32>, %w: tensor<784x10xf32>) -> tensor<n x 10 x f32> {
  // CHECK: graph.matmul %x, %w : tensor<n x 10 x f32>
  %y = graph.matmul %x, %w
  func.return %y : tensor<n x 10 x f32>
}
