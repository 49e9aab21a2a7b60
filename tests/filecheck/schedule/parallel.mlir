// RUN: lamina-opt %s -p apply-schedule | filecheck %s
// parallel on loop IR written by hand: the serial loop's iterations write distinct elements,
// so it becomes parallel; the schedule sits in the same file as the function.

// CHECK:     loop.for %{{.*}}, %{{.*}} {kind = "parallel", label = "i"}
// CHECK-NOT: schedule.
func.func @double(%0: memref<8xf32>, %1: memref<8xf32>) attributes {lamina.outputs = 1 : i64} {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  loop.for %c0, %c8 {label = "i"} (%i: index) {
    loop.block %i {label = "double", iter_kinds = "S", domain = [8]} (%a: index) {
      loop.yield
    } (%b: index) {
      %x = loop.load %0, %b : f32
      %y = arith.addf %x, %x : f32
      loop.store %y, %1, %b
      loop.yield
    }
    loop.yield
  }
  func.return
}

schedule.sequence @double () {
  %b = schedule.get_block "double"
  %i = schedule.get_loops %b : index
  schedule.parallel %i
}
