// RUN: rm -f %t.out.mlir
// RUN: lamina-opt %s -p dce -o %t.out.mlir
// RUN: filecheck %s < %t.out.mlir

// CHECK-LABEL: func.func @to_file
// CHECK-NOT: graph.exp
func.func @to_file(%x: tensor<2xf32>) -> tensor<2xf32> {
  %dead = graph.exp %x
  func.return %x : tensor<2xf32>
}
