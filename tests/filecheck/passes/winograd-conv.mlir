// RUN: lamina-opt %s -p winograd-conv,canonicalize | filecheck %s
// Two 3x3 stride-1 convs with constant weights become Winograd F(2x2, 3x3): each transposes its
// input to NHWC, pads it (the conv's pads plus what the last tile overhangs), transforms the
// tiles, multiplies them by the weights transformed at compile time (16 batched GEMMs) and
// transforms back. Between the two convs the transposes cancel: the bias add and the ReLU run
// on the NHWC tensor (the bias permuted to [1, 1, 1, 16]). A strided conv is left alone.

// CHECK-LABEL: func.func @two_convs
// CHECK:         %[[T:.*]] = graph.transpose %x {perm = [0, 2, 3, 1]} : tensor<1x12x12x16xf32>
// CHECK-NEXT:    %[[P:.*]] = graph.pad %[[T]] {pads = [0, 1, 1, 0, 0, 1, 1, 0]} : tensor<1x14x14x16xf32>
// CHECK-NEXT:    %[[V:.*]] = graph.winograd_input %[[P]] {tiles = [6, 6]} : tensor<16x36x16xf32>
// CHECK-NEXT:    %[[U:.*]] = graph.const {{.*}} : tensor<16x16x16xf32>
// CHECK-NEXT:    %[[M:.*]] = graph.matmul %[[V]], %[[U]] : tensor<16x36x16xf32>
// CHECK-NEXT:    %[[Y:.*]] = graph.winograd_output %[[M]] {size = [12, 12]} : tensor<1x12x12x16xf32>
// CHECK-NOT:     graph.transpose
// CHECK:         %[[B:.*]] = graph.const dense<0.25> : tensor<1x1x1x16xf32>
// CHECK-NEXT:    %[[A:.*]] = graph.add %[[Y]], %[[B]] : tensor<1x12x12x16xf32>
// CHECK-NEXT:    %[[R:.*]] = graph.relu %[[A]] : tensor<1x12x12x16xf32>
// CHECK-NEXT:    %[[P2:.*]] = graph.pad %[[R]] {pads = [0, 1, 1, 0, 0, 1, 1, 0]} : tensor<1x14x14x16xf32>
// CHECK-NEXT:    graph.winograd_input %[[P2]] {tiles = [6, 6]}
// CHECK:         %[[Y2:.*]] = graph.winograd_output {{.*}} {size = [12, 12]} : tensor<1x12x12x16xf32>
// CHECK-NEXT:    %[[OUT:.*]] = graph.transpose %[[Y2]] {perm = [0, 3, 1, 2]} : tensor<1x16x12x12xf32>
// CHECK-NEXT:    func.return %[[OUT]]
func.func @two_convs(%x: tensor<1x16x12x12xf32>) -> tensor<1x16x12x12xf32> {
  %w = graph.const dense<0.5> : tensor<16x16x3x3xf32>
  %b = graph.const dense<0.25> : tensor<16x1x1xf32>
  %c = graph.conv2d %x, %w {pads = [1, 1, 1, 1]} : tensor<1x16x12x12xf32>
  %a = graph.add %c, %b : tensor<1x16x12x12xf32>
  %r = graph.relu %a : tensor<1x16x12x12xf32>
  %y = graph.conv2d %r, %w {pads = [1, 1, 1, 1]} : tensor<1x16x12x12xf32>
  func.return %y : tensor<1x16x12x12xf32>
}

// CHECK-LABEL: func.func @strided
// CHECK-NEXT:    graph.const
// CHECK-NEXT:    graph.conv2d %x, %{{.*}} {strides = [2, 2], pads = [1, 1, 1, 1]}
// CHECK-NOT:     graph.winograd_input
func.func @strided(%x: tensor<1x16x24x24xf32>) -> tensor<1x16x12x12xf32> {
  %w = graph.const dense<0.5> : tensor<16x16x3x3xf32>
  %y = graph.conv2d %x, %w {strides = [2, 2], pads = [1, 1, 1, 1]} : tensor<1x16x12x12xf32>
  func.return %y : tensor<1x16x12x12xf32>
}

// With 49 or more 4x4 tiles the conv takes F(4x4, 3x3): 6x6 input tiles, 36 GEMMs. A 25x25
// output has 7x7 tiles whose last row and column keep one output each: the pad covers
// 4 * 7 + 2 = 30 rows and columns.
// CHECK-LABEL: func.func @large_tiles
// CHECK:         %[[T:.*]] = graph.transpose %x {perm = [0, 2, 3, 1]} : tensor<1x25x25x16xf32>
// CHECK-NEXT:    %[[P:.*]] = graph.pad %[[T]] {pads = [0, 1, 1, 0, 0, 4, 4, 0]} : tensor<1x30x30x16xf32>
// CHECK-NEXT:    %[[V:.*]] = graph.winograd_input %[[P]] {tiles = [7, 7], output_tile = 4} : tensor<36x49x16xf32>
// CHECK-NEXT:    %[[U:.*]] = graph.const {{.*}} : tensor<36x16x16xf32>
// CHECK-NEXT:    %[[M:.*]] = graph.matmul %[[V]], %[[U]] : tensor<36x49x16xf32>
// CHECK-NEXT:    %[[Y:.*]] = graph.winograd_output %[[M]] {size = [25, 25]} : tensor<1x25x25x16xf32>
// CHECK-NEXT:    graph.transpose %[[Y]] {perm = [0, 3, 1, 2]} : tensor<1x16x25x25xf32>
func.func @large_tiles(%x: tensor<1x16x25x25xf32>) -> tensor<1x16x25x25xf32> {
  %w = graph.const dense<0.5> : tensor<16x16x3x3xf32>
  %y = graph.conv2d %x, %w {pads = [1, 1, 1, 1]} : tensor<1x16x25x25xf32>
  func.return %y : tensor<1x16x25x25xf32>
}
