// RUN: lamina-opt %s -p shape-infer,dce --print-ir-after-all 2>&1 >/dev/null | filecheck %s

// CHECK: IR after shape-infer
// CHECK: graph.exp
// CHECK: IR after dce
// CHECK-NOT: graph.exp
func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  %dead = graph.exp %x
  %n = graph.neg %x
  %nn = graph.neg %n
  func.return %nn : tensor<2xf32>
}
