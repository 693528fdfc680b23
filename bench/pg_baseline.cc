#include "pg_baseline.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "bench_util.h"

namespace tally::bench {
namespace {

constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

// Runs a shell command as the postgres user when we are root (initdb refuses root).
Status RunAsPostgres(const std::string& command) {
  std::string full = geteuid() == 0 ? "runuser -u postgres -- sh -c '" + command + "'" : command;
  int rc = std::system(full.c_str());
  if (rc != 0) return Internal("command failed (" + std::to_string(rc) + "): " + full);
  return Status::Ok();
}

Status PgError(PGconn* c, const std::string& what) {
  return Internal(what + ": " + PQerrorMessage(c));
}

}  // namespace

Result<std::unique_ptr<PgCluster>> PgCluster::Start(const std::string& dir) {
  int port = FreePort();
  if (port == 0) return Unavailable("no free port for PostgreSQL");
  std::unique_ptr<PgCluster> c(new PgCluster(dir, port));
  std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str());
  if (geteuid() == 0) {
    if (getpwnam("postgres") == nullptr) return Unavailable("no postgres user to run PostgreSQL");
    std::system(("chown postgres: '" + dir + "'").c_str());
  }
  TALLY_RETURN_IF_ERROR(RunAsPostgres(std::string(kPgBin) + "/initdb -D " + dir +
                                      "/pgdata -U postgres -A trust -E UTF8 --no-sync "
                                      ">" + dir + "/initdb.log 2>&1"));
  {
    std::ofstream conf(dir + "/pgdata/postgresql.conf", std::ios::app);
    conf << "\nlisten_addresses = '127.0.0.1'\nport = " << port
         << "\nunix_socket_directories = '" << dir << "'\n"
         << "shared_buffers = 1GB\nmax_wal_size = 8GB\nmax_connections = 20\n";
  }
  TALLY_RETURN_IF_ERROR(RunAsPostgres(std::string(kPgBin) + "/pg_ctl -D " + dir +
                                      "/pgdata -l " + dir + "/server.log -w start >/dev/null"));
  c->running_ = true;
  return c;
}

PgCluster::~PgCluster() {
  if (running_) {
    (void)RunAsPostgres(std::string(kPgBin) + "/pg_ctl -D " + dir_ +
                        "/pgdata -m fast -w stop >/dev/null");
  }
  if (EnvString("TALLY_BENCH_KEEP_PG", "0") != "1") {
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }
}

std::string PgCluster::ConnectionString() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres";
}

PgBatch MakePgBatch(const std::vector<domain::UsageRecord>& records) {
  PgBatch b;
  b.records = records.size();
  b.sql = "INSERT INTO usage VALUES ";
  constexpr int kColumns = 9;
  int n = 1;
  for (size_t i = 0; i < records.size(); ++i) {
    const domain::UsageRecord& r = records[i];
    b.sql += i == 0 ? "(" : ",(";
    for (int k = 0; k < kColumns; ++k) b.sql += "$" + std::to_string(n++) + ",";
    b.sql += "now())";
    b.values.push_back(r.record_id);
    b.values.push_back(r.subscription_id);
    b.values.push_back(r.meter_id);
    b.values.push_back(r.resource_uri);
    b.values.push_back(r.location);
    b.values.push_back(FormatUtcTime(r.usage_start.utc()));
    b.values.push_back(r.quantity.ToString());
    for (const auto* p : {&r.tags, &r.additional_info}) {
      std::string json;
      if (*p) domain::AppendPropertiesJson(json, *p);
      b.values.push_back(std::move(json));
    }
    for (int k = 0; k < 7; ++k) b.is_null.push_back(false);
    b.is_null.push_back(!r.tags);
    b.is_null.push_back(!r.additional_info);
  }
  b.sql += " ON CONFLICT (record_id) DO NOTHING";
  return b;
}

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    Status s = PgError(c, "connect");
    PQfinish(c);
    return s;
  }
  return std::unique_ptr<PgConnection>(new PgConnection(c));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

Status PgConnection::Exec(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  ExecStatusType st = PQresultStatus(r);
  PQclear(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return PgError(conn_, sql);
  return Status::Ok();
}

Status PgConnection::CreateAndLoad(const std::string& tsv_path) {
  TALLY_RETURN_IF_ERROR(
      Exec("CREATE TABLE usage(record_id text NOT NULL, subscription_id uuid NOT NULL, "
           "meter_id text NOT NULL, resource_uri text NOT NULL, location text NOT NULL, "
           "usage_start timestamptz NOT NULL, quantity numeric NOT NULL, tags jsonb, "
           "additional_info jsonb, reported_time timestamptz NOT NULL)"));
  PGresult* r = PQexec(conn_, "COPY usage FROM STDIN");
  ExecStatusType st = PQresultStatus(r);
  PQclear(r);
  if (st != PGRES_COPY_IN) return PgError(conn_, "COPY");
  int fd = open(tsv_path.c_str(), O_RDONLY);
  if (fd < 0) return NotFound("cannot open " + tsv_path);
  std::vector<char> buf(1 << 20);
  ssize_t n;
  while ((n = read(fd, buf.data(), buf.size())) > 0) {
    if (PQputCopyData(conn_, buf.data(), static_cast<int>(n)) != 1) {
      close(fd);
      return PgError(conn_, "COPY data");
    }
  }
  close(fd);
  if (PQputCopyEnd(conn_, n < 0 ? "read failed" : nullptr) != 1) return PgError(conn_, "COPY end");
  while ((r = PQgetResult(conn_)) != nullptr) {
    st = PQresultStatus(r);
    PQclear(r);
    if (st != PGRES_COMMAND_OK) return PgError(conn_, "COPY");
  }
  TALLY_RETURN_IF_ERROR(Exec("ALTER TABLE usage ADD PRIMARY KEY (record_id)"));
  TALLY_RETURN_IF_ERROR(
      Exec("CREATE INDEX usage_by_subscription ON usage(subscription_id, reported_time)"));
  TALLY_RETURN_IF_ERROR(Exec("CREATE INDEX usage_by_reported ON usage(reported_time)"));
  TALLY_RETURN_IF_ERROR(Exec("VACUUM ANALYZE usage"));
  return Exec("CHECKPOINT");
}

Result<uint64_t> PgConnection::Insert(const PgBatch& batch) {
  std::vector<const char*> values(batch.values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = batch.is_null[i] ? nullptr : batch.values[i].c_str();
  }
  PGresult* r = PQexecParams(conn_, batch.sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  ExecStatusType st = PQresultStatus(r);
  uint64_t rows = st == PGRES_COMMAND_OK ? std::strtoull(PQcmdTuples(r), nullptr, 10) : 0;
  PQclear(r);
  if (st != PGRES_COMMAND_OK) return PgError(conn_, "INSERT batch");
  return rows;
}

Result<uint64_t> PgConnection::CountRows() {
  PGresult* r = PQexec(conn_, "SELECT count(*) FROM usage");
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    PQclear(r);
    return PgError(conn_, "count");
  }
  uint64_t n = std::strtoull(PQgetvalue(r, 0, 0), nullptr, 10);
  PQclear(r);
  return n;
}

Result<std::vector<std::vector<std::string>>> PgConnection::Query(
    const std::string& sql, const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* r = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    PQclear(r);
    return PgError(conn_, sql);
  }
  std::vector<std::vector<std::string>> rows(static_cast<size_t>(PQntuples(r)));
  const int columns = PQnfields(r);
  for (int i = 0; i < PQntuples(r); ++i) {
    rows[i].reserve(static_cast<size_t>(columns));
    for (int c = 0; c < columns; ++c) rows[i].emplace_back(PQgetvalue(r, i, c));
  }
  PQclear(r);
  return rows;
}

}  // namespace tally::bench
