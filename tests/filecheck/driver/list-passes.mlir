// RUN: lamina-opt --list-passes | filecheck %s

// CHECK-DAG: canonicalize
// CHECK-DAG: cse
// CHECK-DAG: dce
// CHECK-DAG: fold-constants
// CHECK-DAG: shape-infer
