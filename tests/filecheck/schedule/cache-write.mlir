// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// cache_write: the block accumulates into a local buffer copied back after its nest.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}

schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %c = schedule.cache_write %m {index = 0}
}

// CHECK:      %[[CACHE:.*]] = loop.alloc {scope = "local"} : memref<4x5xf32>
// CHECK:      loop.block {{.*}} {label = "matmul"
// CHECK:        loop.store %{{.*}}, %[[CACHE]],
// CHECK:        loop.load %[[CACHE]],
// CHECK:        loop.store %{{.*}}, %[[CACHE]],
// CHECK:      loop.block {{.*}} {label = "matmul_write0_local", iter_kinds = "SS", domain = [4, 5]}
// CHECK:        %[[V:.*]] = loop.load %[[CACHE]], %[[A:.*]], %[[B:.*]] : f32
// CHECK-NEXT:   loop.store %[[V]], %2, %[[A]], %[[B]]
