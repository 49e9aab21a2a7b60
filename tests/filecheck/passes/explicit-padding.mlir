// RUN: lamina-opt %s -p explicit-padding | filecheck %s
// A padded convolution reads a zero-bordered copy instead of guarding every load.

// CHECK-LABEL: func.func @conv
// CHECK: %[[P:.*]] = graph.pad %x {pads = [0, 0, 1, 2, 0, 0, 1, 2]} : tensor<n x 4 x 10 x 12 x f32>
// CHECK: graph.conv2d %[[P]], %w {strides = [2, 2]} : tensor<n x 8 x 4 x 5 x f32>
// CHECK-LABEL: func.func @unpadded
// CHECK-NOT: graph.pad
func.func @conv(%x: tensor<n x 4 x 8 x 8 x f32>, %w: tensor<8x4x3x3xf32>) -> tensor<n x 8 x 4 x 5 x f32> {
  %y = graph.conv2d %x, %w {strides = [2, 2], pads = [1, 2, 1, 2]}
  func.return %y : tensor<n x 8 x 4 x 5 x f32>
}

func.func @unpadded(%x: tensor<1x4x8x8xf32>, %w: tensor<8x4x3x3xf32>) -> tensor<1x8x6x6xf32> {
  %y = graph.conv2d %x, %w
  func.return %y : tensor<1x8x6x6xf32>
}
