// RUN: lamina-opt %s -p cse,dce --timing 2>&1 >/dev/null | filecheck %s

// CHECK: cse
// CHECK: dce
// CHECK: total
func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  func.return %x : tensor<2xf32>
}
