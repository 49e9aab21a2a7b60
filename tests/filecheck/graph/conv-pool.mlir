// RUN: lamina-opt %s | filecheck %s

// CHECK-LABEL: func.func @cnn
func.func @cnn(%x: tensor<n x 4 x 16 x 16 x f32>, %w: tensor<8x2x3x3xf32>) -> tensor<n x 8 x f32> {
  // CHECK: %c = graph.conv2d %x, %w {strides = [2, 2], pads = [1, 1, 1, 1], groups = 2} : tensor<n x 8 x 8 x 8 x f32>
  %c = graph.conv2d %x, %w {strides = [2, 2], pads = [1, 1, 1, 1], groups = 2}
  // CHECK: %p = graph.max_pool2d %c {kernel = [2, 2], strides = [2, 2]} : tensor<n x 8 x 4 x 4 x f32>
  %p = graph.max_pool2d %c {kernel = [2, 2], strides = [2, 2]}
  // CHECK: %a = graph.avg_pool2d %p {kernel = [3, 3], pads = [1, 1, 1, 1]} : tensor<n x 8 x 4 x 4 x f32>
  %a = graph.avg_pool2d %p {kernel = [3, 3], pads = [1, 1, 1, 1]}
  // CHECK: %g = graph.global_avg_pool2d %a : tensor<n x 8 x 1 x 1 x f32>
  %g = graph.global_avg_pool2d %a
  // CHECK: %f = graph.flatten %g : tensor<n x 8 x f32>
  %f = graph.flatten %g
  func.return %f : tensor<n x 8 x f32>
}
