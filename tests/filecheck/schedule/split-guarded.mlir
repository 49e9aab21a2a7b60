// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// Factors that overshoot the extent, static (10 by 4) or symbolic (n by 4), guard the body
// with loop.if so the extra iterations do nothing.

// CHECK-LABEL: func.func @static
// CHECK:      %[[TEN:.*]] = arith.constant 10 : index
// CHECK:      %[[THREE:.*]] = arith.constant 3 : index
// CHECK-NEXT: %[[FOUR:.*]] = arith.constant 4 : index
// CHECK-NEXT: loop.for %{{.*}}, %[[THREE]] {kind = "parallel", label = "i0_0"} (%[[O:.*]]: index) {
// CHECK-NEXT:   loop.for %{{.*}}, %[[FOUR]] {kind = "parallel", label = "i0_1"} (%[[I:.*]]: index) {
// CHECK:          %[[V:.*]] = arith.addi %{{.*}}, %[[I]] : index
// CHECK-NEXT:     %[[IN:.*]] = arith.cmpi slt, %[[V]], %[[TEN]] : i1
// CHECK-NEXT:     loop.if %[[IN]] () {
// CHECK-NEXT:       loop.block %[[V]] {label = "exp"
func.func @static(%a: tensor<10xf32>) -> tensor<10xf32> {
  %b = graph.exp %a : tensor<10xf32>
  func.return %b : tensor<10xf32>
}

schedule.sequence @static () {
  %b = schedule.get_block "exp"
  %i = schedule.get_loops %b : index
  %io, %ii = schedule.split %i {factors = [-1, 4]}
}

// CHECK-LABEL: func.func @symbolic
// CHECK:      %[[N:.*]] = loop.size "n" : index
// CHECK-NEXT: %[[C3:.*]] = arith.constant 3 : index
// CHECK-NEXT: %[[SUM:.*]] = arith.addi %[[N]], %[[C3]] : index
// CHECK-NEXT: %[[C4:.*]] = arith.constant 4 : index
// CHECK-NEXT: %[[OUTER:.*]] = arith.floordivsi %[[SUM]], %[[C4]] : index
// CHECK:      loop.for %{{.*}}, %[[OUTER]] {kind = "parallel", label = "i0_0"}
// CHECK:      arith.cmpi slt, %{{.*}}, %[[N]] : i1
// CHECK-NEXT: loop.if
func.func @symbolic(%a: tensor<n x f32>) -> tensor<n x f32> {
  %b = graph.exp %a : tensor<n x f32>
  func.return %b : tensor<n x f32>
}

schedule.sequence @symbolic () {
  %b = schedule.get_block "exp"
  %i = schedule.get_loops %b : index
  %io, %ii = schedule.split %i {factors = [-1, 4]}
}

// A symbolic extent that the factor divides (4*n by 4) needs no guard.
// CHECK-LABEL: func.func @divisible
// CHECK:      %[[OUTER:.*]] = loop.size "n" : index
// CHECK:      loop.for %{{.*}}, %[[OUTER]] {kind = "parallel", label = "i0_0"}
// CHECK-NOT:  loop.if
// CHECK:      func.return
func.func @divisible(%a: tensor<4*n x f32>) -> tensor<4*n x f32> {
  %b = graph.exp %a : tensor<4*n x f32>
  func.return %b : tensor<4*n x f32>
}

schedule.sequence @divisible () {
  %b = schedule.get_block "exp"
  %i = schedule.get_loops %b : index
  %io, %ii = schedule.split %i {factors = [-1, 4]}
}
