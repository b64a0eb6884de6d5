// forward_cpu.cpp: embedding, RMSNorm, RoPE (adjacent pairs, llama.cpp's "normal" mode for GGUF
// llama files), grouped-query attention over a growing KV cache, SwiGLU, final norm, LM head.
// Work is split by output rows (or heads) only, so the bits never depend on the thread count.
#include "llm/forward_cpu.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "llm/quant.hpp"

namespace pxos::llm {
namespace {

// A fixed set of workers that run one job at a time: [0, n) is cut into one contiguous part per
// thread (part 0 on the caller). Persistent threads, because a token runs ~200 jobs.
constexpr unsigned kMaxThreads = 64;  // a hostile --threads must not spawn thousands

class Pool {
 public:
  explicit Pool(unsigned n) : n_(std::clamp(n, 1u, kMaxThreads)) {
    for (unsigned i = 1; i < n_; ++i) workers_.emplace_back([this, i] { loop(i); });
  }
  ~Pool() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
      ++gen_;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  unsigned size() const { return n_; }
  void run(size_t n, const std::function<void(size_t, size_t)>& f) {
    if (n_ == 1 || n < 2) {
      f(0, n);
      return;
    }
    {
      std::lock_guard lk(mu_);
      job_ = &f;
      items_ = n;
      pending_ = n_ - 1;
      ++gen_;
    }
    cv_.notify_all();
    part(0);
    std::unique_lock lk(mu_);
    done_.wait(lk, [&] { return pending_ == 0; });
  }

 private:
  void part(unsigned i) {
    size_t chunk = (items_ + n_ - 1) / n_, lo = std::min(items_, i * chunk), hi = std::min(items_, lo + chunk);
    if (lo < hi) (*job_)(lo, hi);
  }
  void loop(unsigned i) {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return gen_ != seen; });
        seen = gen_;
        if (stop_) return;
      }
      part(i);  // job_ and items_ stay put until every part has reported
      std::lock_guard lk(mu_);
      if (--pending_ == 0) done_.notify_one();
    }
  }
  unsigned n_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_;
  const std::function<void(size_t, size_t)>* job_ = nullptr;
  size_t items_ = 0;
  unsigned pending_ = 0;
  uint64_t gen_ = 0;
  bool stop_ = false;
};

struct MatJob {
  const Weight* w;
  const float* x;
  float* y;
};

std::vector<float> dequantize_vector(const Weight& w) {
  std::vector<float> v(w.cols);
  dequantize_row(w.type, w.data, v.data(), w.cols);
  return v;
}

// ggml's rms_norm: the mean of squares accumulated in double, then x * (1/sqrt(mean+eps)) * w.
void rmsnorm(float* out, const float* x, const float* w, size_t n, float eps) {
  double ss = 0.0;
  for (size_t i = 0; i < n; ++i) ss += double(x[i] * x[i]);
  const float scale = 1.0f / std::sqrt(float(ss / double(n)) + eps);
  for (size_t i = 0; i < n; ++i) out[i] = (x[i] * scale) * w[i];
}

}  // namespace

struct Session::Impl {
  Pool pool;
  std::vector<float> x, xb, q, k, v, att_out, hb, hb2, logits;
  std::vector<std::vector<float>> attn_norm, ffn_norm;
  std::vector<float> out_norm;
  std::vector<std::vector<float>> kc, vc;  // per layer: [pos][kv_dim]
  std::vector<float> att;                  // per head: [cap] scores
  std::vector<double> freq;                // RoPE: base^(-2i/head_dim)
  std::vector<float> cos_, sin_;
  uint32_t cap = 0;
  bool ggml = false;
  // act_quant Ggml: each job's input in its weight type's activation format, quantized once per
  // (input, format) before the rows are split, as ggml does before its vec_dot loop.
  std::vector<std::vector<uint8_t>> xq;
  explicit Impl(unsigned threads) : pool(threads) {}

  // Every job's rows, as one job: each row is still one dot product by one thread.
  void matvecs(std::initializer_list<MatJob> jobs) {
    size_t total = 0, n = 0;
    const uint8_t* in[4] = {};
    if (ggml) {
      if (xq.size() < jobs.size()) xq.resize(jobs.size());
      for (auto& j : jobs) {
        size_t same = 0;
        for (auto& k : jobs) {
          if (&k == &j) break;
          if (k.x == j.x && act_type(k.w->type) == act_type(j.w->type)) break;
          ++same;
        }
        if (same == n) {  // not the same input and format as an earlier job: quantize it
          xq[n].resize(act_bytes(j.w->type, j.w->cols));
          quantize_act(j.w->type, j.x, xq[n].data(), j.w->cols);
          in[n] = xq[n].data();
        } else {
          in[n] = in[same];
        }
        ++n;
      }
    }
    for (auto& j : jobs) total += j.w->rows;
    pool.run(total, [&](size_t lo, size_t hi) {
      size_t base = 0, i = 0;
      for (auto& j : jobs) {
        size_t r0 = std::max(lo, base), r1 = std::min(hi, base + j.w->rows);
        if (r0 < r1) {
          if (ggml) matvec_rows_act(j.w->type, j.w->data, j.w->stride, in[i], j.w->cols, j.y, r0 - base, r1 - base);
          else matvec_rows(j.w->type, j.w->data, j.w->stride, j.x, j.w->cols, j.y, r0 - base, r1 - base);
        }
        base += j.w->rows;
        ++i;
      }
    });
  }
};

Session::Session(const Model& model, SessionOptions o) : m_(model), o_(o), d_(std::make_unique<Impl>(o.threads)) {
  const Hparams& hp = m_.hp;
  d_->ggml = o.act_quant == ActQuant::Ggml;
  n_ctx_ = o.n_ctx ? std::min(o.n_ctx, hp.n_ctx) : hp.n_ctx;
  d_->x.resize(hp.dim);
  d_->xb.resize(hp.dim);
  d_->q.resize(hp.dim);
  d_->k.resize(hp.kv_dim());
  d_->v.resize(hp.kv_dim());
  d_->att_out.resize(hp.dim);
  d_->hb.resize(hp.n_ff);
  d_->hb2.resize(hp.n_ff);
  d_->logits.resize(hp.n_vocab);
  for (auto& l : m_.layers) {
    d_->attn_norm.push_back(dequantize_vector(l.attn_norm));
    d_->ffn_norm.push_back(dequantize_vector(l.ffn_norm));
  }
  d_->out_norm = dequantize_vector(m_.output_norm);
  d_->kc.resize(hp.n_layer);
  d_->vc.resize(hp.n_layer);
  for (uint32_t i = 0; i < hp.head_dim / 2; ++i)
    d_->freq.push_back(std::pow(double(hp.rope_base), -2.0 * double(i) / double(hp.head_dim)));
  d_->cos_.resize(hp.head_dim / 2);
  d_->sin_.resize(hp.head_dim / 2);
}

Session::~Session() = default;
unsigned Session::threads() const { return d_->pool.size(); }

Status Session::check(std::span<const int32_t> tokens) const {
  if (tokens.empty()) return fail(Errc::Usage, "no tokens to evaluate");
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || uint32_t(tokens[i]) >= m_.hp.n_vocab)
      return failf(Errc::Usage, "token {} (at index {}) is outside the vocabulary of {}", tokens[i], i, m_.hp.n_vocab);
  if (tokens.size() > n_ctx_ - pos_)
    return failf(Errc::ContextFull, "{} tokens at position {} pass the context of {} tokens", tokens.size(), pos_, n_ctx_);
  return {};
}

Result<std::span<const float>> Session::eval(std::span<const int32_t> tokens) {
  if (auto s = check(tokens); !s) return std::unexpected(std::move(s.error()));
  for (size_t i = 0; i < tokens.size(); ++i) step(tokens[i], i + 1 == tokens.size());
  return std::span<const float>(d_->logits);
}

Result<std::vector<float>> Session::eval_all(std::span<const int32_t> tokens) {
  if (auto s = check(tokens); !s) return std::unexpected(std::move(s.error()));
  std::vector<float> out;
  out.reserve(tokens.size() * m_.hp.n_vocab);
  for (int32_t t : tokens) {
    step(t, true);
    out.insert(out.end(), d_->logits.begin(), d_->logits.end());
  }
  return out;
}

void Session::step(int32_t token, bool want_logits) {
  const Hparams& hp = m_.hp;
  Impl& s = *d_;
  const uint32_t dim = hp.dim, kv = hp.kv_dim(), hd = hp.head_dim, group = hp.n_head / hp.n_kv_head;
  // The cache grows geometrically up to n_ctx, so a small prompt never pays for 8192 positions.
  if (pos_ >= s.cap) {
    s.cap = std::min(n_ctx_, std::max(16u, s.cap * 2));
    for (uint32_t l = 0; l < hp.n_layer; ++l) {
      s.kc[l].resize(size_t(s.cap) * kv);
      s.vc[l].resize(size_t(s.cap) * kv);
    }
    s.att.resize(size_t(hp.n_head) * s.cap);
  }
  dequantize_row(m_.tok_embd.type, m_.tok_embd.row(uint64_t(token)), s.x.data(), dim);
  if (s.ggml) {
    // ggml_rope_cache_init: theta = pos, multiplied by powf(base, -2/d) once per pair, in fp32.
    const float theta_scale = std::pow(hp.rope_base, -2.0f / float(hd));
    float theta = float(pos_);
    for (uint32_t i = 0; i < hd / 2; ++i, theta *= theta_scale) {
      s.cos_[i] = std::cos(theta);
      s.sin_[i] = std::sin(theta);
    }
  } else {
    for (uint32_t i = 0; i < hd / 2; ++i) {
      double a = double(pos_) * s.freq[i];
      s.cos_[i] = float(std::cos(a));
      s.sin_[i] = float(std::sin(a));
    }
  }
  auto rope = [&](float* vec, uint32_t heads) {
    for (uint32_t h = 0; h < heads; ++h)
      for (uint32_t i = 0; i < hd / 2; ++i) {
        float* p = vec + h * hd + 2 * i;
        const float x0 = p[0], x1 = p[1];
        p[0] = x0 * s.cos_[i] - x1 * s.sin_[i];
        p[1] = x0 * s.sin_[i] + x1 * s.cos_[i];
      }
  };
  const float scale = 1.0f / std::sqrt(float(hd));
  const uint32_t n_pos = pos_ + 1;
  for (uint32_t l = 0; l < hp.n_layer; ++l) {
    const Layer& L = m_.layers[l];
    rmsnorm(s.xb.data(), s.x.data(), s.attn_norm[l].data(), dim, hp.rms_eps);
    s.matvecs({{&L.wq, s.xb.data(), s.q.data()}, {&L.wk, s.xb.data(), s.k.data()}, {&L.wv, s.xb.data(), s.v.data()}});
    rope(s.q.data(), hp.n_head);
    rope(s.k.data(), hp.n_kv_head);
    if (o_.kv_f16) {  // the f16 cache, and ggml's f16 query for the K.Q matvec
      for (auto& e : s.k) e = round_f16(e);
      for (auto& e : s.v) e = round_f16(e);
      for (auto& e : s.q) e = round_f16(e);
    }
    std::copy(s.k.begin(), s.k.end(), s.kc[l].begin() + size_t(pos_) * kv);
    std::copy(s.v.begin(), s.v.end(), s.vc[l].begin() + size_t(pos_) * kv);
    const float* kc = s.kc[l].data();
    const float* vc = s.vc[l].data();
    s.pool.run(hp.n_head, [&](size_t h0, size_t h1) {
      for (size_t h = h0; h < h1; ++h) {
        const float* q = s.q.data() + h * hd;
        const size_t g = h / group;
        float* a = s.att.data() + h * s.cap;
        float mx = -INFINITY;
        for (uint32_t t = 0; t < n_pos; ++t) {
          const float* k = kc + size_t(t) * kv + g * hd;
          float dot = 0.0f;
          for (uint32_t i = 0; i < hd; ++i) dot += q[i] * k[i];
          a[t] = dot * scale;
          mx = std::max(mx, a[t]);
        }
        float sum = 0.0f;
        double dsum = 0.0;  // ggml_vec_soft_max_f32 sums in double
        for (uint32_t t = 0; t < n_pos; ++t) {
          a[t] = std::exp(a[t] - mx);
          sum += a[t];
          dsum += double(a[t]);
        }
        const float inv = s.ggml ? float(1.0 / dsum) : 1.0f / sum;
        float* o = s.att_out.data() + h * hd;
        std::fill(o, o + hd, 0.0f);
        for (uint32_t t = 0; t < n_pos; ++t) {
          const float* v = vc + size_t(t) * kv + g * hd;
          const float w = o_.kv_f16 ? round_f16(a[t] * inv) : a[t] * inv;
          for (uint32_t i = 0; i < hd; ++i) o[i] += w * v[i];
        }
      }
    });
    s.matvecs({{&L.wo, s.att_out.data(), s.xb.data()}});
    for (uint32_t i = 0; i < dim; ++i) s.x[i] += s.xb[i];
    rmsnorm(s.xb.data(), s.x.data(), s.ffn_norm[l].data(), dim, hp.rms_eps);
    s.matvecs({{&L.w_gate, s.xb.data(), s.hb.data()}, {&L.w_up, s.xb.data(), s.hb2.data()}});
    for (uint32_t i = 0; i < hp.n_ff; ++i) {
      const float g = s.hb[i];
      s.hb[i] = g / (1.0f + std::exp(-g)) * s.hb2[i];
    }
    s.matvecs({{&L.w_down, s.hb.data(), s.xb.data()}});
    for (uint32_t i = 0; i < dim; ++i) s.x[i] += s.xb[i];
  }
  ++pos_;
  if (!want_logits) return;
  rmsnorm(s.xb.data(), s.x.data(), s.out_norm.data(), dim, hp.rms_eps);
  s.matvecs({{&m_.output, s.xb.data(), s.logits.data()}});
}

}  // namespace pxos::llm
