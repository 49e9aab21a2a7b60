// RUN: lamina-opt %s -p canonicalize | filecheck %s
// Algebraic identities, applied only where the result type equals the operand type.

// CHECK-LABEL: func.func @identities
// CHECK-NEXT: func.return %x : tensor<4xf32>
func.func @identities(%x: tensor<4xf32>) -> tensor<4xf32> {
  %zero = graph.const dense<0.0> : tensor<4xf32>
  %one = graph.const dense<1.0> : tensor<f32>
  %a = graph.add %x, %zero
  %b = graph.mul %a, %one
  %c = graph.div %b, %one
  %d = graph.sub %c, %zero
  %e = graph.neg %d
  %f = graph.neg %e
  func.return %f : tensor<4xf32>
}

// CHECK-LABEL: func.func @broadcast_kept
// CHECK: graph.add %x, %zero : tensor<3x4xf32>
func.func @broadcast_kept(%x: tensor<4xf32>) -> tensor<3x4xf32> {
  %zero = graph.const dense<0.0> : tensor<3x4xf32>
  %a = graph.add %x, %zero
  func.return %a : tensor<3x4xf32>
}
