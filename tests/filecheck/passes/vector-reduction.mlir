// RUN: lamina-opt %s -p 'lower-graph-to-loop,default-schedule{threads=1}' | filecheck %s --check-prefix=SCHED
// RUN: lamina-opt %s -p 'lower-graph-to-loop,default-schedule{threads=1},lower-loop-to-device' | filecheck %s --check-prefix=DEV
// A sum along the contiguous last axis stays the innermost loop and is vectorized as a reduction:
// four stack vectors accumulate independent partial results (groups of 32 columns per step,
// then single vectors), one horizontal reduce folds them into the row's element, and a scalar
// loop takes the 3 columns left over (83 = 2 * 32 + 2 * 8 + 3). A sum over the
// first axis keeps the reduction outside the contiguous spatial loop, which is vectorized instead.

func.func @rows(%x: tensor<6 x 83 x f32>) -> tensor<6 x f32> {
  %s = graph.reduce_sum %x {axes = [1], keepdims = false} : tensor<6 x f32>
  func.return %s : tensor<6 x f32>
}

// SCHED-LABEL: func.func @rows
// SCHED:         loop.for %{{.*}} {label = "d0"}
// SCHED-NEXT:      loop.for %{{.*}} {kind = "reduction", label = "d1", vectorize = true}
// SCHED-NEXT:        loop.block {{.*}}label = "reduce_sum"

// DEV-LABEL: func.func @rows
// DEV:         device.for
// DEV:           %[[ACC:.*]] = device.alloca {shape = [4, 8], element = f32} : memref<4x8xf32>
// DEV:           %[[ZERO:.*]] = arith.constant -0.0 : f32
// DEV-NEXT:      %[[SPLAT:.*]] = device.broadcast %[[ZERO]] {lanes = 8} : vector<8xf32>
// DEV-COUNT-4:   device.vstore %[[SPLAT]], %[[ACC]]
// DEV:           device.for %{{.*}}, %{{.*}} {step = 32}
// DEV-NEXT:        %[[X0:.*]] = device.vload %0, %{{.*}}, %{{.*}} {lanes = 8} : vector<8xf32>
// DEV-NEXT:        %[[P0:.*]] = device.vload %[[ACC]], %{{.*}}, %{{.*}} {lanes = 8} : vector<8xf32>
// DEV-NEXT:        %[[S0:.*]] = arith.addf %[[P0]], %[[X0]] : vector<8xf32>
// DEV-NEXT:        device.vstore %[[S0]], %[[ACC]]
// DEV-COUNT-3:     arith.addf %{{.*}}, %{{.*}} : vector<8xf32>
// DEV:           device.for %{{.*}}, %[[END:.*]] {step = 8}
// DEV:             device.vstore
// DEV-NEXT:      }
// DEV-NEXT:      %[[P0:.*]] = device.vload %[[ACC]]
// DEV-NEXT:      %[[P1:.*]] = device.vload %[[ACC]]
// DEV-NEXT:      %[[F1:.*]] = arith.addf %[[P0]], %[[P1]] : vector<8xf32>
// DEV-NEXT:      %[[P2:.*]] = device.vload %[[ACC]]
// DEV-NEXT:      %[[F2:.*]] = arith.addf %[[F1]], %[[P2]] : vector<8xf32>
// DEV-NEXT:      %[[P3:.*]] = device.vload %[[ACC]]
// DEV-NEXT:      %[[F3:.*]] = arith.addf %[[F2]], %[[P3]] : vector<8xf32>
// DEV-NEXT:      %[[TOTAL:.*]] = device.vreduce %[[F3]] {kind = "add"} : f32
// DEV:           %[[OLD:.*]] = device.load %1, %{{.*}} : f32
// DEV-NEXT:      %[[NEW:.*]] = arith.addf %[[OLD]], %[[TOTAL]] : f32
// DEV-NEXT:      device.store %[[NEW]], %1
// DEV-NEXT:      device.for %[[END]], %{{.*}} (%{{.*}}: index) {
// DEV-NEXT:        device.load %0
// DEV-NOT:         device.if

func.func @columns(%x: tensor<6 x 35 x f32>) -> tensor<35 x f32> {
  %s = graph.reduce_sum %x {axes = [0], keepdims = false} : tensor<35 x f32>
  func.return %s : tensor<35 x f32>
}

// SCHED-LABEL: func.func @columns
// SCHED:         loop.for %{{.*}} {kind = "reduction", label = "d0"}
// SCHED-NEXT:      loop.for %{{.*}} {label = "d1{{.*}}", vectorize = true}
// DEV-LABEL:   func.func @columns
// DEV-NOT:       device.vreduce
