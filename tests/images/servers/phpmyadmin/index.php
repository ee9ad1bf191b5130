<?php
// phpMyAdmin's role in berth-fixture/phpmyadmin:1: sign in to the configured server, list databases.
$hosts = array_filter(array_map('trim', explode(',', getenv('PMA_HOSTS') ?: '')));
$host = getenv('PMA_HOST') ?: ($hosts ? reset($hosts) : 'db');
$port = (int) (getenv('PMA_PORT') ?: 3306);
$user = getenv('PMA_USER') ?: 'root';
$h = fn ($s) => htmlspecialchars((string) $s, ENT_QUOTES);
mysqli_report(MYSQLI_REPORT_OFF);
$db = @mysqli_connect($host, $user, getenv('PMA_PASSWORD') ?: '', '', $port);
echo "<!doctype html><meta charset=utf-8><title>phpMyAdmin</title><h1>phpMyAdmin (berth stand-in)</h1>\n";
if (!$db) {
    http_response_code(503);
    echo '<p>Cannot connect to ', $h("$host:$port"), ': ', $h(mysqli_connect_error()), "</p>\n";
    exit;
}
echo '<p>Server: ', $h("$host:$port"), ' (', $h(mysqli_get_server_info($db)), ') as ', $h($user), "</p>\n<ul>\n";
foreach (mysqli_query($db, 'SHOW DATABASES') as $row) {
    echo '<li>', $h($row['Database']), "</li>\n";
}
echo "</ul>\n";
