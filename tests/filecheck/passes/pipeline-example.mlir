// RUN: lamina-opt %S/../../../examples/mlp.mlir -p canonicalize,cse,fold-constants,dce | filecheck %s
// The README's example: the multiply by one goes, the weight arithmetic folds, the duplicate
// constant merges and the dead exp is removed.

// CHECK-LABEL: func.func @mlp
// CHECK-NOT: graph.exp
// CHECK-NOT: graph.concat
// CHECK: graph.matmul %x
// CHECK: graph.add
// CHECK-NEXT: graph.relu
// CHECK: graph.matmul
// CHECK-NOT: graph.reshape %{{.*}} {shape = [n, 2, 2]}
// CHECK: graph.softmax
