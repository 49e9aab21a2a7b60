// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// A dividing split: two loops whose variables recombine into the old one, no guard; the
// schedule is gone after apply-schedule.

func.func @f(%a: tensor<8xf32>) -> tensor<8xf32> {
  %b = graph.exp %a : tensor<8xf32>
  func.return %b : tensor<8xf32>
}

schedule.sequence @f () {
  %b = schedule.get_block "exp"
  %i = schedule.get_loops %b : index
  %io, %ii = schedule.split %i {factors = [-1, 4]}
}

// CHECK:      %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[TWO:.*]] = arith.constant 2 : index
// CHECK-NEXT: %[[FOUR:.*]] = arith.constant 4 : index
// CHECK-NEXT: loop.for %[[C0]], %[[TWO]] {kind = "parallel", label = "i0_0"} (%[[O:.*]]: index) {
// CHECK-NEXT:   loop.for %[[C0]], %[[FOUR]] {kind = "parallel", label = "i0_1"} (%[[I:.*]]: index) {
// CHECK-NEXT:     %[[S:.*]] = arith.constant 4 : index
// CHECK-NEXT:     %[[M:.*]] = arith.muli %[[O]], %[[S]] : index
// CHECK-NEXT:     %[[V:.*]] = arith.addi %[[M]], %[[I]] : index
// CHECK-NEXT:     loop.block %[[V]] {label = "exp"
// CHECK-NOT:  loop.if
// CHECK-NOT:  schedule.
