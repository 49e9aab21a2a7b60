// RUN: lamina-opt %s -p dce | filecheck %s

// CHECK-LABEL: func.func @dead_chain
// CHECK-NOT: graph.exp
// CHECK-NOT: graph.log
// CHECK: %kept = graph.neg %x
func.func @dead_chain(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = graph.exp %x
  %b = graph.log %a
  %kept = graph.neg %x
  func.return %kept : tensor<4xf32>
}
