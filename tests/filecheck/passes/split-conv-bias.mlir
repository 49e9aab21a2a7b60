// RUN: lamina-opt %s -p split-conv-bias | filecheck %s
// A conv's bias becomes a broadcast add after it, so the bias joins the elementwise chain that
// epilogue fusion runs inside the conv's register tile (in place on the conv's output it could
// not). A constant bias is reshaped at compile time; any other is reshaped in the graph.

// CHECK-LABEL: func.func @constant_bias
// CHECK:         %[[B:.*]] = graph.const dense<{{\[\[\[}}1.0{{\]\]}}, {{\[\[}}2.0{{\]\]\]}}> : tensor<2x1x1xf32>
// CHECK-NEXT:    %[[C:.*]] = graph.conv2d %x, %w {pads = [1, 1, 1, 1]} : tensor<1x2x4x4xf32>
// CHECK-NEXT:    %[[A:.*]] = graph.add %[[C]], %[[B]] : tensor<1x2x4x4xf32>
// CHECK-NEXT:    func.return %[[A]]
func.func @constant_bias(%x: tensor<1x3x4x4xf32>, %w: tensor<2x3x3x3xf32>) -> tensor<1x2x4x4xf32> {
  %b = graph.const dense<[1.0, 2.0]> : tensor<2xf32>
  %y = graph.conv2d %x, %w, %b {pads = [1, 1, 1, 1]}
  func.return %y : tensor<1x2x4x4xf32>
}

// CHECK-LABEL: func.func @argument_bias
// CHECK:         %[[R:.*]] = graph.reshape %b {shape = [2, 1, 1]} : tensor<2x1x1xf32>
// CHECK-NEXT:    %[[C:.*]] = graph.conv2d %x, %w : tensor<n x 2 x 2 x 2 x f32>
// CHECK-NEXT:    graph.add %[[C]], %[[R]] : tensor<n x 2 x 2 x 2 x f32>
func.func @argument_bias(%x: tensor<n x 3 x 4 x 4 x f32>, %w: tensor<2x3x3x3xf32>, %b: tensor<2xf32>) -> tensor<n x 2 x 2 x 2 x f32> {
  %y = graph.conv2d %x, %w, %b
  func.return %y : tensor<n x 2 x 2 x 2 x f32>
}

// CHECK-LABEL: func.func @no_bias
// CHECK-NOT:     graph.add
func.func @no_bias(%x: tensor<1x3x4x4xf32>, %w: tensor<2x3x3x3xf32>) -> tensor<1x2x2x2xf32> {
  %y = graph.conv2d %x, %w
  func.return %y : tensor<1x2x2x2xf32>
}
