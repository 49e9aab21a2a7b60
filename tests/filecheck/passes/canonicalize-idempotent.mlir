// RUN: lamina-opt %s -p canonicalize | filecheck %s

// CHECK-LABEL: func.func @idempotent
// CHECK: %r = graph.relu %x
// CHECK-NOT: graph.relu
// CHECK: graph.abs
// CHECK-NOT: graph.abs
func.func @idempotent(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %r = graph.relu %x
  %rr = graph.relu %r
  %a = graph.abs %x
  %aa = graph.abs %a
  func.return %rr, %aa : tensor<4xf32>, tensor<4xf32>
}
