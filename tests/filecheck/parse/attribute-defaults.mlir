// RUN: lamina-opt %s | filecheck %s
// Attributes equal to their default are elided; others print in row order.

// CHECK-LABEL: func.func @attrs
func.func @attrs(%x: tensor<1x2x8x8xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32> {
  // CHECK: %c = graph.conv2d %x, %w : tensor<1x4x6x6xf32>
  %c = graph.conv2d %x, %w {strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], groups = 1}
  // CHECK: %l = graph.leaky_relu %c : tensor<1x4x6x6xf32>
  %l = graph.leaky_relu %c {alpha = 0.01}
  // CHECK: %s = graph.softmax %l {axis = 1} : tensor<1x4x6x6xf32>
  %s = graph.softmax %l {axis = 1}
  func.return %s : tensor<1x4x6x6xf32>
}
