// RUN: not lamina-opt %s -p no-such-pass 2>&1 | filecheck %s
// An unknown pass is a one-line error, not a traceback.

// CHECK: error: {{.*}}no-such-pass
// CHECK-NOT: Traceback
func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  func.return %x : tensor<2xf32>
}
