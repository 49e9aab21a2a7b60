// RUN: lamina-opt %s | filecheck %s
// Comments anywhere, blank lines and trailing whitespace are ignored.

// CHECK-LABEL: func.func @c
// CHECK-NOT: comment
func.func @c(%x: tensor<2xf32>) -> tensor<2xf32> {   // comment after a brace

  %y = graph.sqrt %x   // comment after an op
  // a whole-line comment
  func.return %y : tensor<2xf32>
}
