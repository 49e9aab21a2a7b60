// RUN: lamina-opt --list-ops loop | filecheck %s --check-prefix=LOOP
// RUN: lamina-opt --list-ops device | filecheck %s --check-prefix=DEVICE
// RUN: not lamina-opt --list-ops nosuch 2>&1 | filecheck %s --check-prefix=UNKNOWN
// One op name per line for every dialect's table; an unknown dialect is an error.

// LOOP:      {{^}}loop.const{{$}}
// LOOP-NEXT: {{^}}loop.alloc{{$}}
// LOOP-NEXT: {{^}}loop.size{{$}}
// LOOP-NEXT: {{^}}loop.for{{$}}
// LOOP-NEXT: {{^}}loop.block{{$}}
// LOOP-NEXT: {{^}}loop.load{{$}}
// LOOP-NEXT: {{^}}loop.store{{$}}
// LOOP-NEXT: {{^}}loop.prefetch{{$}}
// LOOP-NEXT: {{^}}loop.if{{$}}
// LOOP-NEXT: {{^}}loop.yield{{$}}
// LOOP-NOT:  {{.}}

// DEVICE-DAG: {{^}}device.for{{$}}
// DEVICE-DAG: {{^}}device.parallel_for{{$}}
// DEVICE-DAG: {{^}}device.vload{{$}}
// DEVICE-DAG: {{^}}device.vstore{{$}}
// DEVICE-DAG: {{^}}device.prefetch{{$}}
// DEVICE-DAG: {{^}}device.fma{{$}}
// DEVICE-DAG: {{^}}device.broadcast{{$}}
// DEVICE-DAG: {{^}}device.vreduce{{$}}
// DEVICE-DAG: {{^}}device.alloca{{$}}
// DEVICE-DAG: {{^}}device.launch{{$}}
// DEVICE-DAG: {{^}}device.thread_id{{$}}
// DEVICE-DAG: {{^}}device.block_id{{$}}
// DEVICE-DAG: {{^}}device.barrier{{$}}
// DEVICE-NOT: {{^}}loop.

// UNKNOWN: error: unknown dialect 'nosuch'
