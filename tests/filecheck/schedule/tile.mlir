// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// tile: each loop splits by its size and the inner loops move inside the outer ones.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}

schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  %io, %jo, %ii, %ji = schedule.tile %i, %j {sizes = [2, 5]}
}

// CHECK:      loop.for %{{.*}} {kind = "parallel", label = "i_0"} (%[[IO:.*]]: index) {
// CHECK-NEXT:   loop.for %{{.*}} {kind = "parallel", label = "j_0"} (%[[JO:.*]]: index) {
// CHECK-NEXT:     loop.for %{{.*}} {kind = "parallel", label = "i_1"} (%[[II:.*]]: index) {
// CHECK-NEXT:       loop.for %{{.*}} {kind = "parallel", label = "j_1"} (%[[JI:.*]]: index) {
// CHECK-NEXT:         loop.for %{{.*}} {kind = "reduction", label = "k"} (%[[K:.*]]: index) {
// CHECK-NEXT:           arith.constant 5 : index
// CHECK-NEXT:           %[[JS:.*]] = arith.muli %[[JO]]
// CHECK-NEXT:           %[[J:.*]] = arith.addi %[[JS]], %[[JI]] : index
// CHECK-NEXT:           arith.constant 2 : index
// CHECK-NEXT:           %[[IS:.*]] = arith.muli %[[IO]]
// CHECK-NEXT:           %[[I:.*]] = arith.addi %[[IS]], %[[II]] : index
// CHECK-NEXT:           loop.block %[[I]], %[[J]], %[[K]] {label = "matmul"
