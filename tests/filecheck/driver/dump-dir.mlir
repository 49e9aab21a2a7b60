// RUN: rm -rf %t.dumps
// RUN: lamina-opt %s -p canonicalize,cse,dce --dump-dir %t.dumps > /dev/null
// RUN: ls %t.dumps | filecheck %s
// RUN: filecheck %s --check-prefix=DCE < %t.dumps/03-dce.mlir

// CHECK: 00-input.mlir
// CHECK: 01-canonicalize.mlir
// CHECK: 02-cse.mlir
// CHECK: 03-dce.mlir
// DCE-LABEL: func.func @f
func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  func.return %x : tensor<2xf32>
}
