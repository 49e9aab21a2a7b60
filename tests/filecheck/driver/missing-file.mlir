// RUN: not lamina-opt %t.does-not-exist.mlir 2>&1 | filecheck %s

// CHECK: error: {{.*}}does-not-exist.mlir
// CHECK-NOT: Traceback
