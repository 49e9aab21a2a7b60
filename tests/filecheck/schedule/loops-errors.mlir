// RUN: lamina-opt %s --split-input-file --verify-diagnostics -p lower-graph-to-loop,apply-schedule
// Refusals of split, fuse, reorder and tile, each located at its schedule op.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  // expected-error @below {{factors [2, 2] cover 4 iterations, fewer than its extent 6}}
  %ko, %ki = schedule.split %k {factors = [2, 2]}
}

// -----

func.func @f(%a: tensor<n x f32>) -> tensor<n x f32> {
  %e = graph.exp %a : tensor<n x f32>
  func.return %e : tensor<n x f32>
}
schedule.sequence @f () {
  %e = schedule.get_block "exp"
  %i = schedule.get_loops %e : index
  // expected-error @below {{its extent is symbolic, so one factor must be -1}}
  %o, %n = schedule.split %i {factors = [2, 4]}
}

// -----

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  // expected-error @below {{cannot fuse i, k: they are not consecutive loops of one perfect nest}}
  %f = schedule.fuse %i, %k
}

// -----

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  %d = graph.relu %c : tensor<4x5xf32>
  func.return %d : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  %r = schedule.get_block "relu"
  %x, %y = schedule.get_loops %r : index, index
  // expected-error @below {{cannot reorder i0, i: 'i0' does not enclose 'i'}}
  schedule.reorder %x, %i
}

// -----

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  %init = schedule.decompose_reduction %m, %j
  // expected-error @below {{would move a reduction loop outside the init of its block 'matmul'}}
  schedule.reorder %k, %i
}

// -----

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  // expected-error @below {{reorder got a loop twice: i, i}}
  schedule.reorder %i, %i
}

// -----

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  // expected-error @below {{cannot tile k, i: they are not consecutive loops of one perfect nest}}
  %a, %b, %c, %d = schedule.tile %k, %i {sizes = [2, 2]}
}

// -----

// A serial loop (a wavefront: out[i+1][j+1] from out[i][j]) keeps its place in any reorder.
func.func @wave(%0: memref<5x5xf32>) attributes {lamina.outputs = 1 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  loop.for %c0, %c4 {label = "i"} (%i: index) {
    loop.for %c0, %c4 {kind = "parallel", label = "j"} (%j: index) {
      loop.block %i, %j {label = "wave", iter_kinds = "SS", domain = [4, 4]} (%a: index, %b: index) {
        loop.yield
      } (%x: index, %y: index) {
        %v = loop.load %0, %x, %y : f32
        %x1 = arith.addi %x, %c1 : index
        %y1 = arith.addi %y, %c1 : index
        loop.store %v, %0, %x1, %y1
        loop.yield
      }
      loop.yield
    }
    loop.yield
  }
  func.return
}
schedule.sequence @wave () {
  %b = schedule.get_block "wave"
  %i, %j = schedule.get_loops %b : index, index
  // expected-error @below {{cannot reorder j, i: 'i' is a serial loop, its iterations must keep their order}}
  schedule.reorder %j, %i
}
