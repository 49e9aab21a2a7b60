// RUN: lamina-opt %s -p canonicalize,dce --print-ir-after dce 2>&1 >/dev/null | filecheck %s

// CHECK-NOT: IR after canonicalize
// CHECK: IR after dce
// CHECK-LABEL: func.func @f
func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  func.return %x : tensor<2xf32>
}
