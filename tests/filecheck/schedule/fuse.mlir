// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// fuse: one loop over the product of the extents; the old variables are its quotient and remainder.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}

schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  %f = schedule.fuse %i, %j
}

// CHECK:      %[[TWENTY:.*]] = arith.constant 20 : index
// CHECK-NEXT: loop.for %{{.*}}, %[[TWENTY]] {kind = "parallel", label = "i_j_fused"} (%[[F:.*]]: index) {
// CHECK-NEXT:   loop.for %{{.*}} {kind = "reduction", label = "k"} (%[[K:.*]]: index) {
// CHECK-NEXT:     %[[C5:.*]] = arith.constant 5 : index
// CHECK-NEXT:     %[[J:.*]] = arith.remsi %[[F]], %[[C5]] : index
// CHECK-NEXT:     %[[C5B:.*]] = arith.constant 5 : index
// CHECK-NEXT:     %[[I:.*]] = arith.floordivsi %[[F]], %[[C5B]] : index
// CHECK-NEXT:     loop.block %[[I]], %[[J]], %[[K]] {label = "matmul"
// CHECK-NOT:  label = "i"
