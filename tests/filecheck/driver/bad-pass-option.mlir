// RUN: not lamina-opt %s -p 'canonicalize{no-such-option=3}' 2>&1 | filecheck %s
// RUN: not lamina-opt %s -p 'canonicalize{max-iterations=' 2>&1 | filecheck %s --check-prefix=SYNTAX

// CHECK: error: {{.*}}no-such-option
// CHECK-NOT: Traceback
// SYNTAX: error:
// SYNTAX-NOT: Traceback
func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  func.return %x : tensor<2xf32>
}
