// RUN: lamina-opt %s -p 'shape-infer{bind="n=8"}' | filecheck %s
// Binding a symbol specialises the signature and every type that depends on it.

// CHECK-LABEL: func.func @spec(%x: tensor<8x4xf32>) -> tensor<8x2x2xf32>
// CHECK: graph.relu %x : tensor<8x4xf32>
// CHECK: graph.reshape %r {shape = [8, 2, 2]} : tensor<8x2x2xf32>
func.func @spec(%x: tensor<n x 4 x f32>) -> tensor<n x 2 x 2 x f32> {
  %r = graph.relu %x
  %y = graph.reshape %r {shape = [n, 2, 2]}
  func.return %y : tensor<n x 2 x 2 x f32>
}
