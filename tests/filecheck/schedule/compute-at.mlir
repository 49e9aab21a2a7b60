// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// compute_at: exp moves under matmul's loop i and computes the one row i of its buffer that iteration reads.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  %c = graph.matmul %e, %b : tensor<4x5xf32>
  %d = graph.relu %c : tensor<4x5xf32>
  func.return %d : tensor<4x5xf32>
}

schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  %e = schedule.get_block "exp"
  schedule.compute_at %e, %i
}

// CHECK:      loop.for %{{.*}} {kind = "parallel", label = "i"} (%[[I:.*]]: index) {
// CHECK-NEXT:   loop.for %{{.*}}, %[[ONE:.*]] {kind = "parallel", label = "exp_0"} (%[[R:.*]]: index) {
// CHECK-NEXT:     loop.for %{{.*}}, %[[SIX:.*]] {kind = "parallel", label = "exp_1"} (%[[C:.*]]: index) {
// CHECK-NEXT:       %[[ROW:.*]] = arith.addi %[[I]], %[[R]] : index
// CHECK-NEXT:       loop.block %[[ROW]], %[[C]] {label = "exp", iter_kinds = "SS", domain = [4, 6]}
// CHECK:        loop.for %{{.*}} {kind = "parallel", label = "j"}
// CHECK:          loop.block %[[I]], {{.*}} {label = "matmul"
// CHECK-NOT:  label = "i0"
// CHECK:      label = "relu"
