// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// reverse_compute_at: relu moves under matmul's loop j and consumes the element (i, j) that iteration finished.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  %c = graph.matmul %e, %b : tensor<4x5xf32>
  %d = graph.relu %c : tensor<4x5xf32>
  func.return %d : tensor<4x5xf32>
}

schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  %r = schedule.get_block "relu"
  schedule.reverse_compute_at %r, %j
}

// CHECK:      loop.for %{{.*}} {kind = "parallel", label = "i"} (%[[I:.*]]: index) {
// CHECK-NEXT:   loop.for %{{.*}} {kind = "parallel", label = "j"} (%[[J:.*]]: index) {
// CHECK-NEXT:     loop.for %{{.*}} {kind = "reduction", label = "k"}
// CHECK-NEXT:       loop.block {{.*}} {label = "matmul"
// CHECK:          loop.for %{{.*}} {kind = "parallel", label = "relu_0"} (%[[R:.*]]: index) {
// CHECK-NEXT:       loop.for %{{.*}} {kind = "parallel", label = "relu_1"} (%[[C:.*]]: index) {
// CHECK-NEXT:         %[[X:.*]] = arith.addi %[[I]], %[[R]] : index
// CHECK-NEXT:         %[[Y:.*]] = arith.addi %[[J]], %[[C]] : index
// CHECK-NEXT:         loop.block %[[X]], %[[Y]] {label = "relu"
// CHECK:      func.return
