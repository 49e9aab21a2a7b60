// RUN: lamina-opt %s --split-input-file | filecheck %s
// Each chunk is parsed and printed on its own; the same name may appear in both.

// CHECK-LABEL: func.func @same
// CHECK: graph.relu
func.func @same(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = graph.relu %x
  func.return %y : tensor<2xf32>
}

// -----

// CHECK-LABEL: func.func @same
// CHECK: graph.neg
func.func @same(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = graph.neg %x
  func.return %y : tensor<2xf32>
}
