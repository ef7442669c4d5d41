/* The by-bit loop alone, in C with AVX-512 intrinsics: how fast could a block's
 * sums run in float32 lanes? (issue 12; bench/RESULTS.md, "Float32 rows: a float32
 * lane table"). Run through ``python -m bench.bybit_loop``, which writes the bit
 * groups of the default model's hyperplanes (gptr int64, gidx int32, gsgn float64:
 * ``Hyperplanes.block_cache``) to DIR and compiles this with gcc -O3 -march=native.
 *
 * The same entries, the same loop shape as ``pnet.kernels.projection.group_bits``
 * (8 registers, entries interleaved, a > 0 mask per bit), over a table of random
 * values already filled (no table fill, no packing): 10,000 rows as
 *   f64     1,250 blocks of 8 rows, float64 table (n, 8): today's float rows;
 *   f32w    1,250 blocks of 8 rows, float32 table widened to float64 at each load
 *           (float32 rows since 028484d);
 *   f32x16  625 blocks of 16 rows in one <16 x float> register (uint8 rows since
 *           the 16-lane table; float rows only with a versioned float32 LSH);
 *   f32h    625 blocks of 16 rows as two 8-lane float32 halves (uint8 rows before).
 * Best of 15 rounds each, interleaved. */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
#include <string.h>
#include <unistd.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
static void *rd(const char*f,long *n,int sz){FILE*F=fopen(f,"rb");fseek(F,0,SEEK_END);*n=ftell(F)/sz;rewind(F);void*p=aligned_alloc(64,(*n*sz+63)/64*64);fread(p,sz,*n,F);fclose(F);return p;}
long ng, ne; int64_t *gptr; int32_t *gidx; double *gsgn; float *gsgn32;
static long D;
uint8_t masks[2][1024];
/* (a) float64 table (D+1, 8), 8 rows */
__attribute__((noinline)) void f64(const double *t){
  for(long g=0;g<ng;g++){__m512d a[8];for(int b=0;b<8;b++)a[b]=_mm512_setzero_pd();
    for(long p=gptr[g];p<gptr[g+1];p+=8) for(int b=0;b<8;b++) a[b]=_mm512_fmadd_pd(_mm512_load_pd(t+8*(long)gidx[p+b]),_mm512_set1_pd(gsgn[p+b]),a[b]);
    for(int b=0;b<8;b++) masks[0][8*g+b]=_mm512_cmp_pd_mask(a[b],_mm512_setzero_pd(),_CMP_GT_OQ);}}
/* (b) float32 table (D+1, 8) widened, 8 rows */
__attribute__((noinline)) void f32w(const float *t){
  for(long g=0;g<ng;g++){__m512d a[8];for(int b=0;b<8;b++)a[b]=_mm512_setzero_pd();
    for(long p=gptr[g];p<gptr[g+1];p+=8) for(int b=0;b<8;b++) a[b]=_mm512_fmadd_pd(_mm512_cvtps_pd(_mm256_load_ps(t+8*(long)gidx[p+b])),_mm512_set1_pd(gsgn[p+b]),a[b]);
    for(int b=0;b<8;b++) masks[0][8*g+b]=_mm512_cmp_pd_mask(a[b],_mm512_setzero_pd(),_CMP_GT_OQ);}}
/* (c) float32 table (D+1, 16), 16 rows in one zmm */
__attribute__((noinline)) void f32x16(const float *t){
  for(long g=0;g<ng;g++){__m512 a[8];for(int b=0;b<8;b++)a[b]=_mm512_setzero_ps();
    for(long p=gptr[g];p<gptr[g+1];p+=8) for(int b=0;b<8;b++) a[b]=_mm512_fmadd_ps(_mm512_load_ps(t+16*(long)gidx[p+b]),_mm512_set1_ps(gsgn32[p+b]),a[b]);
    for(int b=0;b<8;b++){__mmask16 m=_mm512_cmp_ps_mask(a[b],_mm512_setzero_ps(),_CMP_GT_OQ);masks[0][8*g+b]=m;masks[1][8*g+b]=m>>8;}}}
/* (d) two float32 tables (D+1, 8), 16 rows as two ymm halves (today's uint8) */
__attribute__((noinline)) void f32h(const float *t0,const float *t1){
  for(long g=0;g<ng;g++){__m256 a[8],b2[8];for(int b=0;b<8;b++)a[b]=b2[b]=_mm256_setzero_ps();
    for(long p=gptr[g];p<gptr[g+1];p+=8) for(int b=0;b<8;b++){__m256 s=_mm256_set1_ps(gsgn32[p+b]);long k=8*(long)gidx[p+b];
      a[b]=_mm256_fmadd_ps(_mm256_load_ps(t0+k),s,a[b]);b2[b]=_mm256_fmadd_ps(_mm256_load_ps(t1+k),s,b2[b]);}
    for(int b=0;b<8;b++){masks[0][8*g+b]=_mm256_cmp_ps_mask(a[b],_mm256_setzero_ps(),_CMP_GT_OQ);masks[1][8*g+b]=_mm256_cmp_ps_mask(b2[b],_mm256_setzero_ps(),_CMP_GT_OQ);}}}
int main(int argc,char**argv){if(argc<3||chdir(argv[1])){fprintf(stderr,"usage: bybit_loop DIR N_FEATURES\n");return 1;}D=atol(argv[2]);long n;gptr=rd("gptr.bin",&n,8);ng=n-1;gidx=rd("gidx.bin",&ne,4);gsgn=rd("gsgn.bin",&ne,8);
  gsgn32=aligned_alloc(64,(ne*4+63)/64*64);for(long i=0;i<ne;i++)gsgn32[i]=gsgn[i];
  double *t64=aligned_alloc(64,(D+1)*64);float *t32=aligned_alloc(64,(D+1)*32),*t16=aligned_alloc(64,(D+1)*64),*h0=aligned_alloc(64,(D+1)*32),*h1=aligned_alloc(64,(D+1)*32);
  srand(1);for(long i=0;i<(D+1)*8;i++){t64[i]=rand()/(double)RAND_MAX-0.5;t32[i]=h0[i]=h1[i]=t64[i];}for(long i=0;i<(D+1)*16;i++)t16[i]=rand()/(double)RAND_MAX-0.5;
  double best[4]={1e9,1e9,1e9,1e9};unsigned sink=0;
  for(int r=0;r<15;r++){double t;
    t=now();for(int k=0;k<1250;k++)f64(t64);t=now()-t;if(t<best[0])best[0]=t;sink+=masks[0][3];
    t=now();for(int k=0;k<1250;k++)f32w(t32);t=now()-t;if(t<best[1])best[1]=t;sink+=masks[0][3];
    t=now();for(int k=0;k<625;k++)f32x16(t16);t=now()-t;if(t<best[2])best[2]=t;sink+=masks[0][3];
    t=now();for(int k=0;k<625;k++)f32h(h0,h1);t=now()-t;if(t<best[3])best[3]=t;sink+=masks[0][3];}
  printf("10,000 rows, by-bit loop only (%ld entries a block): f64 table 8 rows %.2f ms | f32 table widened 8 rows %.2f ms | f32 16 lanes %.2f ms | f32 2x8 halves %.2f ms (%u)\n",ne,best[0]*1e3,best[1]*1e3,best[2]*1e3,best[3]*1e3,sink&1);}
