// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// sample_perfect_tile: a recorded decision replays exactly, feeding split.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}

schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  %f0, %f1 = schedule.sample_perfect_tile %k {n = 2, decision = [3, 2]}
  %ko, %ki = schedule.split %k, %f0, %f1
}

// CHECK:      %[[THREE:.*]] = arith.constant 3 : index
// CHECK-NEXT: %[[TWO:.*]] = arith.constant 2 : index
// CHECK:      loop.for %{{.*}}, %[[THREE]] {kind = "reduction", label = "k_0"}
// CHECK-NEXT:   loop.for %{{.*}}, %[[TWO]] {kind = "reduction", label = "k_1"}
// CHECK-NOT:  loop.if
