// Comm: data-parallel communication between the processes of one training run, over MPI (OpenMPI).
// Contract:
// - Comm::world() initialises MPI (MPI_Init_thread, FUNNELED: only the calling thread talks to
//   MPI) on first use, and only when the process was launched by mpirun (env OMPI_COMM_WORLD_SIZE
//   set); otherwise it is a 1-rank communicator whose operations are no-ops (the data is already
//   the "reduced" value). MPI is finalised at normal exit.
// - allreduce_mean(x, n): x[i] <- mean over ranks of x[i], in place, identical bits on every rank
//   (sum reduced to rank 0 in a fixed order, then broadcast). allreduce_sum for doubles (loss sums).
// - broadcast(data, bytes, root): root's bytes to everyone. barrier(): all ranks meet.
// - abort_if_distributed(code): when MPI runs with more than one rank, MPI_Abort (so that a rank
//   that failed with an error does not leave the others waiting forever in a collective); else returns.
// - Sizes beyond INT_MAX elements are sent in pieces. MPI errors are fatal (MPI's default handler).
#pragma once
#include <cstddef>

namespace baimo {

class Comm {
 public:
  static Comm& world();
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  bool distributed() const { return size_ > 1; }

  void allreduce_mean(float* data, size_t n);
  void allreduce_sum(double* data, size_t n);
  void broadcast(void* data, size_t bytes, int root = 0);
  void barrier();

  static void abort_if_distributed(int code);

  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

 private:
  Comm();
  ~Comm();
  int rank_ = 0, size_ = 1;
  bool initialized_ = false;
};

}  // namespace baimo
