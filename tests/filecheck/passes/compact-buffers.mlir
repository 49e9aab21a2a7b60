// RUN: lamina-opt %s -p 'compact-buffers' | filecheck %s
// A buffer that each iteration of a loop writes and reads back in its own row moves into the
// loop as that row: a local 1x8 buffer, the row index dropped (axis 0 becomes the constant 0).
// A buffer that an iteration reads in the previous iteration's row stays whole.

func.func @own_row(%x: memref<4x8xf32>, %y: memref<4x8xf32>) attributes {lamina.outputs = 1 : i64} {
  %t = loop.alloc : memref<4x8xf32>
  %lo = arith.constant 0 : index
  %rows = arith.constant 4 : index
  %cols = arith.constant 8 : index
  loop.for %lo, %rows {kind = "parallel", label = "o"} (%o: index) {
    loop.for %lo, %cols {label = "i"} (%i: index) {
      %v = loop.load %x, %o, %i : f32
      %e = math.exp %v : f32
      loop.store %e, %t, %o, %i
      loop.yield
    }
    loop.for %lo, %cols {label = "j"} (%j: index) {
      %e = loop.load %t, %o, %j : f32
      loop.store %e, %y, %o, %j
      loop.yield
    }
    loop.yield
  }
  func.return
}

// CHECK-LABEL: func.func @own_row
// CHECK-NOT:     loop.alloc : memref<4x8xf32>
// CHECK:         loop.for {{.*}} {kind = "parallel", label = "o"} (%[[O:[0-9a-z_]+]]: index) {
// CHECK-NEXT:      %[[T:[0-9a-z_]+]] = loop.alloc {scope = "local"} : memref<1x8xf32>
// CHECK:           loop.for {{.*}} {label = "i"} (%[[I:[0-9a-z_]+]]: index) {
// CHECK:             %[[ZERO:[0-9a-z_]+]] = arith.constant 0 : index
// CHECK-NEXT:        loop.store %{{.*}}, %[[T]], %[[ZERO]], %[[I]]
// CHECK:           loop.for {{.*}} {label = "j"} (%[[J:[0-9a-z_]+]]: index) {
// CHECK-NEXT:        %[[ZERO2:[0-9a-z_]+]] = arith.constant 0 : index
// CHECK-NEXT:        %[[E:[0-9a-z_]+]] = loop.load %[[T]], %[[ZERO2]], %[[J]]
// CHECK-NEXT:        loop.store %[[E]], %y, %[[O]], %[[J]]

func.func @previous_row(%x: memref<4x8xf32>, %y: memref<4x8xf32>) attributes {lamina.outputs = 1 : i64} {
  %t = loop.alloc : memref<5x8xf32>
  %lo = arith.constant 0 : index
  %one = arith.constant 1 : index
  %rows = arith.constant 4 : index
  %cols = arith.constant 8 : index
  loop.for %lo, %rows {label = "o"} (%o: index) {
    %next = arith.addi %o, %one : index
    loop.for %lo, %cols {label = "i"} (%i: index) {
      %v = loop.load %x, %o, %i : f32
      loop.store %v, %t, %next, %i
      loop.yield
    }
    loop.for %lo, %cols {label = "j"} (%j: index) {
      %v = loop.load %t, %o, %j : f32
      loop.store %v, %y, %o, %j
      loop.yield
    }
    loop.yield
  }
  func.return
}

// CHECK-LABEL: func.func @previous_row
// CHECK:         loop.alloc : memref<5x8xf32>
// CHECK-NOT:     scope = "local"
