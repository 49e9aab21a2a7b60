// RUN: lamina-opt %s -p 'fold-constants{max-elements=4}' | filecheck %s
// Results bigger than max-elements are not materialised.

// CHECK-LABEL: func.func @big
// CHECK: graph.broadcast_to
func.func @big() -> tensor<8x8xf32> {
  %a = graph.const dense<1.0> : tensor<f32>
  %b = graph.broadcast_to %a {shape = [8, 8]}
  func.return %b : tensor<8x8xf32>
}
