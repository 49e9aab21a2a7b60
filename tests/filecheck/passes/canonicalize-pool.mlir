// RUN: lamina-opt %s -p canonicalize,split-conv-bias,canonicalize | filecheck %s
// A ResNet stem: conv (with bias) -> relu -> max pool. The ReLU and the per-channel bias commute
// with the window's max, so they run after the pool, on a quarter of the elements, and the
// conv's output goes straight into the pool. A bias that varies along a row does not commute.

func.func @stem(%x: tensor<1x3x17x17xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x5x5xf32> {
  %b = graph.const dense<[0.5, -1.0, 2.0, 0.0]> : tensor<4xf32>
  %c = graph.conv2d %x, %w, %b {strides = [2, 2], pads = [1, 1, 1, 1]} : tensor<1x4x9x9xf32>
  %r = graph.relu %c : tensor<1x4x9x9xf32>
  %p = graph.max_pool2d %r {kernel = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]} : tensor<1x4x5x5xf32>
  func.return %p : tensor<1x4x5x5xf32>
}

// CHECK-LABEL: func.func @stem
// CHECK:         %[[B:[0-9a-z]+]] = graph.const {{.*}} : tensor<4x1x1xf32>
// CHECK-NEXT:    %[[C:[0-9a-z]+]] = graph.conv2d %x, %w {strides = [2, 2], pads = [1, 1, 1, 1]} : tensor<1x4x9x9xf32>
// CHECK-NEXT:    %[[P:[0-9a-z]+]] = graph.max_pool2d %[[C]] {{.*}} : tensor<1x4x5x5xf32>
// CHECK-NEXT:    %[[A:[0-9a-z]+]] = graph.add %[[P]], %[[B]] : tensor<1x4x5x5xf32>
// CHECK-NEXT:    graph.relu %[[A]] : tensor<1x4x5x5xf32>

func.func @row_bias(%x: tensor<1x2x6x6xf32>) -> tensor<1x2x3x3xf32> {
  %b = graph.const dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]> : tensor<6xf32>
  %a = graph.add %x, %b : tensor<1x2x6x6xf32>
  %p = graph.max_pool2d %a {kernel = [2, 2], strides = [2, 2]} : tensor<1x2x3x3xf32>
  func.return %p : tensor<1x2x3x3xf32>
}

// CHECK-LABEL: func.func @row_bias
// CHECK:         graph.add %x
// CHECK-NEXT:    graph.max_pool2d
