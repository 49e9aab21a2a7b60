// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// compute_at of a reduction that keeps its reduced axis (a softmax's row max, buffer 4x1): it
// moves under the consumer's row loop and computes that row's maximum, its reduction loop whole;
// its own read of the accumulator is not a consumer.

func.func @f(%x: tensor<4x100xf32>) -> tensor<4x100xf32> {
  %m = graph.reduce_max %x {axes = [1]} : tensor<4x1xf32>
  %y = graph.sub %x, %m : tensor<4x100xf32>
  func.return %y : tensor<4x100xf32>
}

schedule.sequence @f () {
  %s = schedule.get_block "sub"
  %i, %j = schedule.get_loops %s : index, index
  %m = schedule.get_block "reduce_max"
  schedule.compute_at %m, %i
}

// CHECK:      loop.for %{{.*}} {kind = "parallel", label = "i0"} (%[[I:.*]]: index) {
// CHECK-NEXT:   loop.for %{{.*}}, %{{.*}} {kind = "parallel", label = "reduce_max_0"} (%[[R:.*]]: index) {
// CHECK-NEXT:     loop.for %{{.*}}, %{{.*}} {kind = "reduction", label = "reduce_max_1"} (%[[K:.*]]: index) {
// CHECK-NEXT:       %[[ROW:.*]] = arith.addi %[[I]], %[[R]] : index
// CHECK-NEXT:       loop.block %[[ROW]], %[[K]] {label = "reduce_max", iter_kinds = "SR", domain = [4, 100]}
// CHECK:        loop.for %{{.*}} {kind = "parallel", label = "i1"}
// CHECK-NEXT:     loop.block %[[I]], {{.*}} {label = "sub"
// CHECK-NOT:  label = "d0"
