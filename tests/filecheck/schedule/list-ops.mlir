// RUN: lamina-opt --list-ops schedule | filecheck %s
// One schedule op per line, in table order.

// CHECK:      schedule.sequence
// CHECK-NEXT: schedule.get_block
// CHECK-NEXT: schedule.get_loops
// CHECK-NEXT: schedule.split
// CHECK-NEXT: schedule.fuse
// CHECK-NEXT: schedule.reorder
// CHECK-NEXT: schedule.tile
// CHECK-NEXT: schedule.parallel
// CHECK-NEXT: schedule.vectorize
// CHECK-NEXT: schedule.unroll
// CHECK-NEXT: schedule.bind
// CHECK-NEXT: schedule.compute_at
// CHECK-NEXT: schedule.reverse_compute_at
// CHECK-NEXT: schedule.compute_inline
// CHECK-NEXT: schedule.reverse_compute_inline
// CHECK-NEXT: schedule.cache_read
// CHECK-NEXT: schedule.cache_write
// CHECK-NEXT: schedule.decompose_reduction
// CHECK-NEXT: schedule.rfactor
// CHECK-NEXT: schedule.sample_perfect_tile
// CHECK-NEXT: schedule.sample_categorical
// CHECK-EMPTY:
