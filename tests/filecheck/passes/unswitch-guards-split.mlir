// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule,unswitch-guards | filecheck %s
// 7 rows split by 3 guard the body with `io * 3 + ii < 7`. The loop over which that test is one
// value per iteration is io: its body is versioned there (the test at ii = 2), and the copy for
// the full tiles has no guard left; in the copy for the partial tile the guard becomes the
// bound of ii (ii < min(3, 7 - io * 3)). A split by 100 of 201 rows is left alone: its guard varies
// over 100 rows inside the tile, so a guard-free copy would rarely run.

func.func @edge(%a: tensor<7 x 5 x f32>) -> tensor<7 x 5 x f32> {
  %y = graph.relu %a : tensor<7 x 5 x f32>
  func.return %y : tensor<7 x 5 x f32>
}

schedule.sequence @edge () {
  %b = schedule.get_block "relu"
  %i, %j = schedule.get_loops %b : index, index
  %io, %ii = schedule.split %i {factors = [-1, 3]}
}

func.func @wide(%a: tensor<201 x f32>) -> tensor<201 x f32> {
  %y = graph.exp %a : tensor<201 x f32>
  func.return %y : tensor<201 x f32>
}

schedule.sequence @wide () {
  %b = schedule.get_block "exp"
  %i = schedule.get_loops %b : index
  %io, %ii = schedule.split %i {factors = [-1, 100]}
}

// CHECK-LABEL: func.func @edge
// CHECK:         loop.for %{{.*}}, %{{.*}} {kind = "parallel", label = "i0_0"} (%[[IO:.*]]: index) {
// The test at the tile's last row, the constants folded: 2 - 7 + io * 3 < 0.
// CHECK-NEXT:      %[[BIAS:.*]] = arith.constant -5 : index
// CHECK-NEXT:      %[[THREE:.*]] = arith.constant 3 : index
// CHECK-NEXT:      %[[ROW:.*]] = arith.muli %[[IO]], %[[THREE]] : index
// CHECK-NEXT:      %[[END:.*]] = arith.addi %[[BIAS]], %[[ROW]] : index
// CHECK-NEXT:      %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-NEXT:      %[[ALL:.*]] = arith.cmpi slt, %[[END]], %[[ZERO]] : i1
// CHECK-NEXT:      %[[TRUE:.*]] = arith.constant true : i1
// CHECK-NEXT:      %[[SOME:.*]] = arith.xori %[[ALL]], %[[TRUE]] : i1
// CHECK-NEXT:      %[[SEVEN:.*]] = arith.constant 7 : index
// CHECK-NEXT:      %[[MINUS3:.*]] = arith.constant -3 : index
// CHECK-NEXT:      %[[DONE:.*]] = arith.muli %[[IO]], %[[MINUS3]] : index
// CHECK-NEXT:      %[[LEFT:.*]] = arith.addi %[[SEVEN]], %[[DONE]] : index
// CHECK-NEXT:      %[[ROWS:.*]] = arith.minsi %{{.*}}, %[[LEFT]] : index
// CHECK-NEXT:      loop.if %[[ALL]] () {
// CHECK-NEXT:        loop.for {{.*}} {kind = "parallel", label = "i0_1_full"}
// CHECK-NEXT:          loop.for {{.*}} {kind = "parallel", label = "i1_full"}
// CHECK-NOT:             loop.if
// CHECK:                 loop.block {{.*}} {label = "relu_full"
// CHECK:           loop.if %[[SOME]] () {
// CHECK-NEXT:        loop.for %{{.*}}, %[[ROWS]] {kind = "parallel", label = "i0_1"}
// CHECK-NOT:           loop.if
// CHECK:               loop.block {{.*}} {label = "relu"

// CHECK-LABEL: func.func @wide
// CHECK-NOT:     _full
// CHECK:         loop.if
// CHECK-NEXT:      loop.block {{.*}} {label = "exp"
// CHECK-NOT:     _full
