#include "baimo/train/distributed.h"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "baimo/util/error.h"

namespace baimo {

namespace {
constexpr size_t kPiece = INT_MAX / 8;  // elements per MPI call (counts are ints)
bool mpi_running() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}
}  // namespace

Comm& Comm::world() {
  static Comm comm;
  return comm;
}

Comm::Comm() {
  if (!std::getenv("OMPI_COMM_WORLD_SIZE")) return;
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    fail("MPI_Init_thread failed (launched by mpirun: OMPI_COMM_WORLD_SIZE is set)");
  initialized_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

Comm::~Comm() {
  if (initialized_ && mpi_running()) MPI_Finalize();
}

void Comm::allreduce_mean(float* data, size_t n) {
  if (size_ == 1) return;
  // Reduce to rank 0 then broadcast: every rank ends with rank 0's bits, whatever the algorithm.
  const float scale = 1.0f / static_cast<float>(size_);
  for (size_t off = 0; off < n; off += kPiece) {
    int count = static_cast<int>(std::min(kPiece, n - off));
    MPI_Reduce(rank_ == 0 ? MPI_IN_PLACE : data + off, data + off, count, MPI_FLOAT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank_ == 0)
      for (int i = 0; i < count; ++i) data[off + i] *= scale;
    MPI_Bcast(data + off, count, MPI_FLOAT, 0, MPI_COMM_WORLD);
  }
}

void Comm::allreduce_sum(double* data, size_t n) {
  if (size_ == 1) return;
  for (size_t off = 0; off < n; off += kPiece) {
    int count = static_cast<int>(std::min(kPiece, n - off));
    MPI_Reduce(rank_ == 0 ? MPI_IN_PLACE : data + off, data + off, count, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Bcast(data + off, count, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  }
}

void Comm::broadcast(void* data, size_t bytes, int root) {
  if (size_ == 1) return;
  auto* p = static_cast<char*>(data);
  for (size_t off = 0; off < bytes; off += kPiece) {
    int count = static_cast<int>(std::min(kPiece, bytes - off));
    MPI_Bcast(p + off, count, MPI_BYTE, root, MPI_COMM_WORLD);
  }
}

void Comm::barrier() {
  if (size_ > 1) MPI_Barrier(MPI_COMM_WORLD);
}

void Comm::abort_if_distributed(int code) {
  if (!mpi_running()) return;
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  if (n > 1) MPI_Abort(MPI_COMM_WORLD, code);
}

}  // namespace baimo
