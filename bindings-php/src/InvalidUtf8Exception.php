<?php
declare(strict_types=1);

namespace Convtrack;

class InvalidUtf8Exception extends InputException
{
}
