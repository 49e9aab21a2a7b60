// RUN: lamina-opt %s -p 'prefetch-panels{min-panel-bytes=512}' | filecheck %s
// RUN: lamina-opt %s -p 'prefetch-panels' | filecheck %s --check-prefix=SMALL
// Work item %i reads panel %i / 2 (2 tiles per panel) of the constant weights, 4 reduction
// steps of 32 floats: 8 lines per panel, R = 2 per step. Each step fetches one line of the
// next panel, ((i + 2) * 4 + c) * 2 / 2, clamped to the buffer's last element (255). At the
// default minimum (64 KiB) a 512-byte panel is not worth fetching.

func.func @fused(%x: memref<2x4xf32>, %y: memref<2x64xf32>) attributes {lamina.outputs = 1 : i64} {
  %w = loop.const dense<0.5> : memref<2x4x32xf32>
  %lo = arith.constant 0 : index
  %items = arith.constant 4 : index
  %tiles = arith.constant 2 : index
  %steps = arith.constant 4 : index
  %lanes = arith.constant 32 : index
  loop.for %lo, %items {kind = "parallel", label = "work"} (%i: index) {
    %p = arith.floordivsi %i, %tiles : index
    %t = arith.remsi %i, %tiles : index
    loop.for %lo, %steps {kind = "reduction", label = "c"} (%c: index) {
      loop.for %lo, %lanes {kind = "parallel", label = "v"} (%v: index) {
        loop.block %t, %p, %v, %c {label = "mm", iter_kinds = "SSSR", domain = [2, 2, 32, 4]} (%a0: index, %a1: index, %a2: index, %a3: index) {
          loop.yield
        } (%b0: index, %b1: index, %b2: index, %b3: index) {
          %xv = loop.load %x, %b0, %b3 : f32
          %wv = loop.load %w, %b1, %b3, %b2 : f32
          %m = arith.mulf %xv, %wv : f32
          %k = arith.constant 32 : index
          %pk = arith.muli %b1, %k : index
          %o = arith.addi %pk, %b2 : index
          %acc = loop.load %y, %b0, %o : f32
          %s = arith.addf %acc, %m : f32
          loop.store %s, %y, %b0, %o
          loop.yield
        }
        loop.yield
      }
      loop.yield
    }
    loop.yield
  }
  func.return
}

// CHECK-LABEL: func.func @fused
// CHECK:         loop.for {{.*}} {kind = "parallel", label = "work"} (%[[I:[0-9a-z_]+]]: index) {
// CHECK:           loop.for {{.*}} {kind = "reduction", label = "c"} (%[[C:[0-9a-z_]+]]: index) {
// CHECK-NEXT:        %[[TILES:[0-9a-z_]+]] = arith.constant 2 : index
// CHECK-NEXT:        %[[AHEAD:[0-9a-z_]+]] = arith.addi %[[I]], %[[TILES]] : index
// CHECK-NEXT:        %[[STEPS:[0-9a-z_]+]] = arith.constant 4 : index
// CHECK-NEXT:        %[[ROW:[0-9a-z_]+]] = arith.muli %[[AHEAD]], %[[STEPS]] : index
// CHECK-NEXT:        %[[STEP:[0-9a-z_]+]] = arith.addi %[[ROW]], %[[C]] : index
// CHECK-NEXT:        %[[R:[0-9a-z_]+]] = arith.constant 2 : index
// CHECK-NEXT:        %[[SCALED:[0-9a-z_]+]] = arith.muli %[[STEP]], %[[R]] : index
// CHECK-NEXT:        %[[T:[0-9a-z_]+]] = arith.constant 2 : index
// CHECK-NEXT:        %[[LINE:[0-9a-z_]+]] = arith.divui %[[SCALED]], %[[T]] : index
// CHECK-NEXT:        %[[FLOATS:[0-9a-z_]+]] = arith.constant 16 : index
// CHECK-NEXT:        %[[OFFSET:[0-9a-z_]+]] = arith.muli %[[LINE]], %[[FLOATS]] : index
// CHECK-NEXT:        %[[LAST:[0-9a-z_]+]] = arith.constant 255 : index
// CHECK-NEXT:        %[[CLAMPED:[0-9a-z_]+]] = arith.minui %[[OFFSET]], %[[LAST]] : index
// CHECK-NEXT:        loop.prefetch %w, %[[CLAMPED]]
// CHECK-NOT:         loop.prefetch
// CHECK:             loop.for {{.*}} {kind = "parallel", label = "v"}

// SMALL-NOT: loop.prefetch
