// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// cache_read: the block reads a local copy of its first input, made just before its nest.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}

schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %c = schedule.cache_read %m {index = 1}
}

// CHECK:      %[[CACHE:.*]] = loop.alloc {scope = "local"} : memref<6x5xf32>
// CHECK:      loop.block {{.*}} {label = "matmul_read1_local", iter_kinds = "SS", domain = [6, 5]}
// CHECK:        %[[V:.*]] = loop.load %1, %[[A:.*]], %[[B:.*]] : f32
// CHECK-NEXT:   loop.store %[[V]], %[[CACHE]], %[[A]], %[[B]]
// CHECK:      loop.block {{.*}} {label = "matmul"
// CHECK:        loop.load %0,
// CHECK-NEXT:   loop.load %[[CACHE]],
