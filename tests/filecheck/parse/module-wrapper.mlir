// RUN: lamina-opt %s | filecheck %s
// An explicit builtin.module wrapper is accepted; functions print the same.

// CHECK-LABEL: func.func @a
// CHECK-LABEL: func.func @b
builtin.module {
  func.func @a(%x: tensor<2xf32>) -> tensor<2xf32> {
    func.return %x : tensor<2xf32>
  }
  func.func @b(%x: tensor<2xi32>) -> tensor<2xi32> {
    %y = graph.abs %x
    func.return %y : tensor<2xi32>
  }
}
