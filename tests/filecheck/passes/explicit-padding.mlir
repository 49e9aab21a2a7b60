// RUN: lamina-opt %s -p 'explicit-padding{widen=false}' | filecheck %s
// RUN: lamina-opt %s -p explicit-padding | filecheck %s --check-prefix=WIDE
// A padded convolution reads a zero-bordered copy instead of guarding every load. With
// widening (the default) a static output row of 6 columns is computed as 8 (one AVX2 vector of
// f32, two extra zero input columns per unit of stride) and sliced back to 6.

// CHECK-LABEL: func.func @conv
// CHECK: %[[P:.*]] = graph.pad %x {pads = [0, 0, 1, 2, 0, 0, 1, 2]} : tensor<n x 4 x 10 x 12 x f32>
// CHECK: graph.conv2d %[[P]], %w {strides = [2, 2]} : tensor<n x 8 x 4 x 5 x f32>
// CHECK-LABEL: func.func @unpadded
// CHECK-NOT: graph.pad
// CHECK-LABEL: func.func @strided

// WIDE-LABEL: func.func @conv
// WIDE-NOT:   graph.slice
// WIDE-LABEL: func.func @unpadded
// WIDE:       %[[P:.*]] = graph.pad %x {pads = [0, 0, 0, 0, 0, 0, 0, 2]} : tensor<1x4x8x10xf32>
// WIDE:       %[[C:.*]] = graph.conv2d %[[P]], %w : tensor<1x8x6x8xf32>
// WIDE:       graph.slice %[[C]] {starts = [0], ends = [6], axes = [3]} : tensor<1x8x6x6xf32>
// WIDE-LABEL: func.func @strided
// WIDE:       graph.pad %x {pads = [0, 0, 1, 1, 0, 0, 1, 5]} : tensor<1x4x14x18xf32>
// WIDE:       graph.conv2d {{.*}} {strides = [2, 2]} : tensor<1x8x6x8xf32>
// WIDE:       graph.slice
func.func @conv(%x: tensor<n x 4 x 8 x 8 x f32>, %w: tensor<8x4x3x3xf32>) -> tensor<n x 8 x 4 x 5 x f32> {
  %y = graph.conv2d %x, %w {strides = [2, 2], pads = [1, 2, 1, 2]}
  func.return %y : tensor<n x 8 x 4 x 5 x f32>
}

func.func @unpadded(%x: tensor<1x4x8x8xf32>, %w: tensor<8x4x3x3xf32>) -> tensor<1x8x6x6xf32> {
  %y = graph.conv2d %x, %w
  func.return %y : tensor<1x8x6x6xf32>
}

func.func @strided(%x: tensor<1x4x12x12xf32>, %w: tensor<8x4x3x3xf32>) -> tensor<1x8x6x6xf32> {
  %y = graph.conv2d %x, %w {strides = [2, 2], pads = [1, 1, 1, 1]}
  func.return %y : tensor<1x8x6x6xf32>
}

// A padded float max pool reads a copy bordered with -inf (its loads become affine, no guards);
// an integer one keeps its padding.
// CHECK-LABEL: func.func @max_pool
// CHECK: %[[P:.*]] = graph.pad %x {pads = [0, 0, 1, 1, 0, 0, 1, 1], value = -inf} : tensor<1x4x10x10xf32>
// CHECK: graph.max_pool2d %[[P]] {kernel = [3, 3], strides = [2, 2]} : tensor<1x4x4x4xf32>
// CHECK-LABEL: func.func @int_max_pool
// CHECK-NOT: graph.pad
func.func @max_pool(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %y = graph.max_pool2d %x {kernel = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]} : tensor<1x4x4x4xf32>
  func.return %y : tensor<1x4x4x4xf32>
}

func.func @int_max_pool(%x: tensor<1x4x8x8xi32>) -> tensor<1x4x4x4xi32> {
  %y = graph.max_pool2d %x {kernel = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]} : tensor<1x4x4x4xi32>
  func.return %y : tensor<1x4x4x4xi32>
}
